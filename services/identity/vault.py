"""Identity's secrets, derived from ``DZDESK_MASTER_KEY``: the signing-key sealing key and the
directory key.

They are derived with HKDF under identity-only labels, so no other service's keys can be
computed from them and nothing secret is stored in clear:

* the signing-key sealing key: private signing keys are stored AES-256-GCM encrypted, bound
  to their kid, so a database dump yields no key that could mint tokens;
* the directory key: external account keys (``google``/sub, ``microsoft``/tid/oid) and
  organization keys (``hd``, ``tid``) are stored only as HMAC-SHA256 under it, so the
  tenant-agnostic directory tables hold nothing that identifies a person or an organization.

Rotating the master key therefore means re-sealing the signing keys and re-hashing the
directory (a one-off job holding both keys); the master key is stable in practice because
privacy's wrapped subject keys depend on it the same way.
"""

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import MasterKey, decrypt_bytes, encrypt_bytes


def _derive(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(master)


class Vault:
    """Identity's secrets derived from the master key (see the module docstring)."""

    def __init__(self, master_key_value: str | None):
        MasterKey.from_env_value(master_key_value)  # the same checks and messages as privacy
        master = base64.b64decode(master_key_value.strip())
        self._sealing_key = _derive(master, "dzdesk/identity/signing-keys/v1")
        self._directory_key = _derive(master, "dzdesk/identity/directory/v1")

    def seal_signing_key(self, kid: str, raw: bytes) -> bytes:
        return encrypt_bytes(self._sealing_key, raw, kid.encode())

    def open_signing_key(self, kid: str, sealed: bytes) -> bytes:
        return decrypt_bytes(self._sealing_key, sealed, kid.encode())

    def directory_hash(self, key: tuple) -> str:
        """The keyed hash a directory row is found by; ``key`` is an account or org key tuple."""
        canonical = "\x1f".join(str(part) for part in key).encode()
        return hmac.new(self._directory_key, canonical, hashlib.sha256).hexdigest()
