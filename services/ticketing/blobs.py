"""Azure Blob Storage of attachments (azure-storage-blob): one container per tenant, blocks
staged as the sealed bytes come, and reads streamed in bounded ranges.

A container per tenant (`tenant-<tenant id>`), created at the tenant's first file: a tenant's
files can be listed, exported, given their own access policy or deleted whole without
touching another's, and no blob name of one tenant can ever be read under another's. Blob
names are `<ticket id>/<attachment id>`: ids only, nothing personal. What is stored is only
ciphertext (shared/stream_cipher.py); the account sees no file name and no content.

Locally and in the tests the account is Azurite (dzdesk_dev/azurite.py); production names a
real storage account by TICKETING_BLOB_CONNECTION_STRING (README, "Attachments").
"""

import base64

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobServiceClient, LinearRetry
from nameko.extensions import DependencyProvider

from services.ticketing.settings import TicketingSettings
from shared.errors import DependencyUnavailable

# a staged block: few requests for a large file, a bounded buffer for each
BLOCK_BYTES = 4 * 1024 * 1024
# the SDK reads a blob in ranges of this size (its default first read is 32 MiB at once)
READ_BYTES = 4 * 1024 * 1024


class BlobMissing(Exception):
    """The blob is not in storage (deleted, or never committed)."""


def container_name(tenant_id):
    return f"tenant-{tenant_id}"


def blob_name(ticket_id, attachment_id):
    return f"{ticket_id}/{attachment_id}"


def _unavailable(exc):
    return DependencyUnavailable("file storage cannot be reached now; try again shortly")


def _storage_down(exc):
    """The account could not be reached, or answered with a server error (it is down or
    failing: the caller may try again; never a 500 of ours)."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(exc, HttpResponseError) and (exc.status_code or 500) >= 500


class BlobStore:
    def __init__(self, connection_string):
        self.service = BlobServiceClient.from_connection_string(
            connection_string,
            max_single_get_size=READ_BYTES,
            max_chunk_get_size=READ_BYTES,
            # two quick retries a second apart, not the SDK's 15 s and more: a request waiting
            # on an unreachable account answers 503 within seconds
            retry_policy=LinearRetry(backoff=1, retry_total=2, random_jitter_range=0.2),
            connection_timeout=5,
        )
        self._ready = set()  # containers known to exist

    def _container(self, tenant_id, create=False):
        name = container_name(tenant_id)
        client = self.service.get_container_client(name)
        if create and name not in self._ready:
            try:
                client.create_container()
            except ResourceExistsError:
                pass
            self._ready.add(name)
        return client

    def upload(self, tenant_id, name, pieces):
        """Store the blob from an iterable of byte strings, staged in blocks of about
        BLOCK_BYTES and committed once the last piece came; returns the bytes stored. Nothing
        is visible under `name` unless every piece was read (an exception from `pieces`
        leaves only uncommitted blocks, which the service discards)."""
        try:
            blob = self._container(tenant_id, create=True).get_blob_client(name)
            blocks, buffer, stored = [], bytearray(), 0
            for piece in pieces:
                buffer += piece
                if len(buffer) >= BLOCK_BYTES:
                    blocks.append(self._stage(blob, len(blocks), buffer))
                    stored += len(buffer)
                    buffer = bytearray()
            if buffer or not blocks:
                blocks.append(self._stage(blob, len(blocks), buffer))
                stored += len(buffer)
            blob.commit_block_list(blocks)
            return stored
        except AzureError as exc:
            if _storage_down(exc):
                raise _unavailable(exc) from exc
            raise

    @staticmethod
    def _stage(blob, index, data):
        block_id = base64.b64encode(f"{index:08d}".encode()).decode()
        blob.stage_block(block_id, bytes(data), length=len(data))
        return block_id

    def download(self, tenant_id, name):
        """An iterator of the blob's bytes in ranges of READ_BYTES; the first range is asked
        for now (BlobMissing, or 503, before anything is answered)."""
        try:
            downloader = self._container(tenant_id).get_blob_client(name).download_blob()
        except ResourceNotFoundError as exc:
            raise BlobMissing(name) from exc
        except AzureError as exc:
            if _storage_down(exc):
                raise _unavailable(exc) from exc
            raise
        return downloader.chunks()

    def delete(self, tenant_id, name):
        """Delete the blob (with any snapshots); True when it was there."""
        try:
            self._container(tenant_id).get_blob_client(name).delete_blob(delete_snapshots="include")
            return True
        except ResourceNotFoundError:
            return False
        except AzureError as exc:
            if _storage_down(exc):
                raise _unavailable(exc) from exc
            raise

    def names(self, tenant_id):
        """Every blob name in the tenant's container."""
        try:
            return [b.name for b in self._container(tenant_id).list_blobs()]
        except ResourceNotFoundError:
            return []
        except AzureError as exc:
            raise _unavailable(exc) from exc


class Blobs(DependencyProvider):
    """Injects the process's BlobStore (one HTTP connection pool to the account)."""

    def setup(self):
        settings = TicketingSettings.load(self.container.config)
        self.store = BlobStore(settings.ticketing_blob_connection_string.get_secret_value())

    def get_dependency(self, worker_ctx):
        return self.store
