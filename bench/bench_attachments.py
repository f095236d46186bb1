"""A 25 MiB file uploaded end to end to a ticketing process (read in chunks, typed, scanned,
sealed chunk by chunk under the uploader's key, staged in Azurite in blocks), against the same
bytes uploaded straight to Azurite by the SDK in the same run; and the ticketing process's
peak resident memory above idle while it streams the file, against the 64 MiB it must stay
under (issue 18). The download back through the service is measured the same way.
"""

import os
import pathlib
import sys
import tempfile
import threading
import time
import uuid

import requests
from azure.storage.blob import BlobServiceClient

from bench.common import row, start_service, stop_service
from dzdesk_dev import azurite

MIB = 1024 * 1024
SIZE = 25 * MIB
ROUNDS = 3
RSS_BUDGET_MIB = 64


def _status_mib(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


class PeakRss:
    """The highest VmRSS of a process while the block runs: its VmHWM reset first where the
    kernel allows (clear_refs 5), and sampled every 5 ms besides."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _status_mib(self.pid, "VmRSS"))
            time.sleep(0.005)

    def __enter__(self):
        try:
            pathlib.Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.reset:
            self.peak = max(self.peak, _status_mib(self.pid, "VmHWM"))


def _azurite():
    """A connection string and the process to stop (None: one that was running already)."""
    if azurite.answers(azurite.DEFAULT_PORT):
        return azurite.connection_string(), None
    from bench.common import free_port

    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-azurite-")
    return azurite.connection_string(port), azurite.start(folder, port)


def run(env):
    from tests.support.tokens import TokenIssuer

    connection, emulator = _azurite()
    privacy_db, ticketing_db, amqp_uri = (
        env.make_database("privacy"),
        env.make_database("ticketing"),
        env.make_vhost(),
    )
    issuer, processes = TokenIssuer(), []
    tenant, user = str(uuid.uuid4()), str(uuid.uuid4())
    data = os.urandom(SIZE)
    try:
        processes.append(
            start_service(
                "services.privacy.service:PrivacyService",
                env.service_config("privacy", privacy_db, amqp_uri),
            )
        )
        cfg = env.service_config(
            "ticketing",
            ticketing_db,
            amqp_uri,
            TICKETING_BLOB_CONNECTION_STRING=connection,
            **issuer.config,
        )
        ticketing = start_service("services.ticketing.service:TicketingService", cfg)
        processes.append(ticketing)
        base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
        headers = issuer.headers(tenant_id=tenant, roles=("requester",), user_id=user)
        with requests.Session() as session:
            ticket = session.post(
                f"{base}/v1/tickets",
                json={"type": "incident", "title": "Logs attached"},
                headers=headers,
                timeout=30,
            )
            ticket.raise_for_status()
            files = f"{base}/v1/tickets/{ticket.json()['id']}/attachments"

            def upload():
                answer = session.post(
                    files, params={"filename": "big.bin"}, data=data, headers=headers, timeout=300
                )
                answer.raise_for_status()
                return answer.json()["id"]

            upload()  # warmed: the subject's key, the tenant's container, the pools
            idle = _status_mib(ticketing.pid, "VmRSS")
            print("bench: attachments: uploading 25 MiB", file=sys.stderr, flush=True)
            service_seconds, peak = [], 0.0
            for _ in range(ROUNDS):
                with PeakRss(ticketing.pid) as watched:
                    started = time.perf_counter()
                    attachment = upload()
                    service_seconds.append(time.perf_counter() - started)
                peak = max(peak, watched.peak)
            started = time.perf_counter()
            downloaded = session.get(f"{files}/{attachment}", headers=headers, timeout=300)
            download_seconds = time.perf_counter() - started
            assert downloaded.content == data, "the download differs from the upload"
        # the baseline: the same bytes straight to the emulator, as the SDK uploads them
        container = BlobServiceClient.from_connection_string(connection).get_container_client(
            f"bench-{uuid.uuid4().hex[:8]}"
        )
        container.create_container()
        raw_seconds = []
        for index in range(ROUNDS):
            started = time.perf_counter()
            container.upload_blob(f"raw-{index}", data, overwrite=True)
            raw_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        container.download_blob("raw-0").readall()
        raw_download = time.perf_counter() - started
        container.delete_container()
    finally:
        # the 100 MiB the service stored go too: the emulator may be the one `make run` uses
        try:
            BlobServiceClient.from_connection_string(connection).delete_container(
                f"tenant-{tenant}"
            )
        except Exception as exc:  # noqa: BLE001 (a failed run may have stored nothing)
            print(f"bench: attachments: container not deleted: {exc}", file=sys.stderr)
        for process in processes:
            stop_service(process)
        issuer.close()
        if emulator is not None:
            emulator.terminate()
    mib = SIZE / MIB
    return [
        row(
            "attachments.upload_mib_s", mib / min(service_seconds), "MiB/s", mib / min(raw_seconds)
        ),
        row("attachments.download_mib_s", mib / download_seconds, "MiB/s", mib / raw_download),
        row("attachments.upload_peak_rss_mib", peak - idle, "MiB", RSS_BUDGET_MIB),
    ]
