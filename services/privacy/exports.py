"""Export data at rest: a fresh key per request (wrapped by master keys), sealed parts, bundle."""

import json
from datetime import datetime

from services.privacy.bundle import (
    DEFAULT_DESCRIPTIONS,
    PartDescription,
    build_bundle,
    decrypt_bundle,
    encrypt_bundle,
    verify_bundle,
)
from shared.crypto import MasterKeyRing, new_data_key


def _binding(request_id) -> str:
    # bound to the request: a wrapped key copied to another request does not unwrap
    return f"export:{request_id}"


def new_request_key(master_keys: MasterKeyRing, tenant_id, request_id) -> tuple[bytes, int]:
    """(wrapped key, master key version) of a new export request (never the subject key: it
    outlives shredding checks)."""
    version, wrapped = master_keys.wrap(new_data_key(), str(tenant_id), _binding(request_id))
    return wrapped, version


def request_key(master_keys: MasterKeyRing, tenant_id, request_id, export_key: tuple) -> bytes:
    """The request's key from its stored (wrapped key, version)."""
    wrapped, version = export_key
    return master_keys.unwrap(wrapped, str(tenant_id), _binding(request_id), version)


def rewrap_request_key(master_keys: MasterKeyRing, tenant_id, request_id, export_key: tuple):
    """(wrapped key, version) of the same key under the current master key."""
    key = request_key(master_keys, tenant_id, request_id, export_key)
    version, wrapped = master_keys.wrap(key, str(tenant_id), _binding(request_id))
    return wrapped, version


def seal_part(key: bytes, request_id, participant: str, data) -> bytes:
    return encrypt_bundle(json.dumps(data).encode(), key, f"{request_id}/{participant}")


def open_part(key: bytes, request_id, participant: str, blob: bytes):
    return json.loads(decrypt_bundle(blob, key, f"{request_id}/{participant}"))


def describe(name: str) -> PartDescription:
    """Known services have a fixed description; any later participant gets a generic one."""
    return DEFAULT_DESCRIPTIONS.get(name) or PartDescription(
        holds=f"the data the {name} service holds about you",
        purposes=("providing the DZDesk service",),
        recipients=("your organization's DZDesk administrators", "DZDesk as processor"),
        retention="as set by your organization; personal fields unreadable after erasure",
    )


def assemble(key: bytes, tenant_id, request_id, subject_id, parts: dict, now: datetime):
    """(encrypted bundle, manifest) of the parts, one JSON file per service."""
    descriptions = {name: describe(name) for name in parts}
    data = build_bundle(str(tenant_id), str(subject_id), parts, now, descriptions)
    manifest = verify_bundle(data)
    return encrypt_bundle(data, key, str(request_id)), manifest


def open_bundle(key: bytes, request_id, blob: bytes) -> bytes:
    return decrypt_bundle(blob, key, str(request_id))
