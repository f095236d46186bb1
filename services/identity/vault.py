"""Identity's secrets, derived from its own ``IDENTITY_SECRET_KEY``: the signing-key sealing key
and the directory key.

No other service holds that secret (privacy's master key is privacy's alone). Both keys are
derived with HKDF under identity-only labels, the same labels as when they were derived from
``DZDESK_MASTER_KEY``: a database whose keys were sealed under a master key opens with
``IDENTITY_SECRET_KEY`` set to that master key's value (what ``make run`` does for a local
database older than the secret, deploy/README.md for an upgrade). Nothing secret is stored in
clear:

* the signing-key sealing key: private signing keys are stored AES-256-GCM encrypted, bound
  to their kid, so a database dump yields no key that could mint tokens;
* the directory key: external account keys (``google``/sub, ``microsoft``/tid/oid) and
  organization keys (``hd``, ``tid``) are stored only as HMAC-SHA256 under it, so the
  tenant-agnostic directory tables hold nothing that identifies a person or an organization.

Rotating the secret therefore means re-sealing the signing keys and re-hashing the directory
(a one-off job holding both secrets, and the directory's hashes are one-way): keep it stable.
"""

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import KEY_BYTES, decrypt_bytes, encrypt_bytes

SETTING = "IDENTITY_SECRET_KEY"


class SecretKeyError(ValueError):
    """IDENTITY_SECRET_KEY is missing or not the base64 of 32 bytes (the value never shown)."""


def secret_bytes(value: str | None) -> bytes:
    hint = f"{SETTING} must be the base64 of {KEY_BYTES} random bytes (`openssl rand -base64 32`)"
    if not value or not value.strip():
        raise SecretKeyError(f"{hint}; it is not set")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretKeyError(f"{hint}; it is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise SecretKeyError(f"{hint}; it decodes to {len(raw)} bytes")
    return raw


def _derive(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(master)


class Vault:
    """Identity's secrets derived from IDENTITY_SECRET_KEY (see the module docstring)."""

    def __init__(self, secret_key_value: str | None):
        secret = secret_bytes(secret_key_value)
        self._sealing_key = _derive(secret, "dzdesk/identity/signing-keys/v1")
        self._directory_key = _derive(secret, "dzdesk/identity/directory/v1")

    def seal_signing_key(self, kid: str, raw: bytes) -> bytes:
        return encrypt_bytes(self._sealing_key, raw, kid.encode())

    def open_signing_key(self, kid: str, sealed: bytes) -> bytes:
        return decrypt_bytes(self._sealing_key, sealed, kid.encode())

    def directory_hash(self, key: tuple) -> str:
        """The keyed hash a directory row is found by; ``key`` is an account or org key tuple."""
        canonical = "\x1f".join(str(part) for part in key).encode()
        return hmac.new(self._directory_key, canonical, hashlib.sha256).hexdigest()
