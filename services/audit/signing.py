"""The audit signing key (AUDIT_SIGNING_KEY, or generated once and stored encrypted), its Signer.

Precedence:
1. AUDIT_SIGNING_KEY set: an Ed25519 private key as PKCS#8 PEM text, the base64 of that PEM,
   or the base64 of the 32 raw private bytes. It is never written to the database; only its
   public JWK is recorded, so checkpoints it signed stay verifiable after a rotation.
2. Otherwise the newest generated key in `audit_signing_key`, whose private part is encrypted
   with AES-256-GCM under a key derived (HKDF-SHA256, info "dzdesk/audit/signing-key/v1") from
   audit's own AUDIT_SECRET_KEY and bound to its key id. When there is none, one is generated
   and stored. The service refuses to start when the stored key cannot be decrypted (another
   secret). Keys stored before AUDIT_SECRET_KEY existed were wrapped the same way under
   DZDESK_MASTER_KEY: they open with AUDIT_SECRET_KEY set to that master key's value.
The key id is the key's RFC 7638 JWK thumbprint.
"""

import base64
import binascii
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from psycopg.types.json import Jsonb

from services.audit.checkpoints import InvalidCheckpoint, sign_checkpoint
from services.audit.exceptions import SigningKeyUnavailable
from shared import jwk
from shared.crypto import KEY_BYTES, CipherError, decrypt_bytes, encrypt_bytes
from shared.envelope import utcnow

_INFO = b"dzdesk/audit/signing-key/v1"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dzdesk.audit.signing-key'))"


class Signer:
    """Signs tenant chain heads with one Ed25519 key."""

    def __init__(self, private_key):
        self.private_key = private_key
        self.key_id = jwk.thumbprint(private_key)
        self.public_jwk = jwk.public_jwk(private_key, self.key_id)

    def sign(self, tenant_id, seq, hash_hex, now=None):
        now = now or utcnow()
        return sign_checkpoint(self.private_key, self.key_id, tenant_id, seq, hash_hex, now)


def generate_private_key():
    return Ed25519PrivateKey.generate()


def private_key_to_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_from_pem(pem):
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidCheckpoint("not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidCheckpoint("the PEM key is not an Ed25519 key")
    return key


def save_private_key(path, private_key):
    """Write the key as PKCS#8 PEM, readable by the owner only from the first byte on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(private_key_to_pem(private_key))


def load_private_key(path):
    with open(path, "rb") as source:
        return private_key_from_pem(source.read())


def parse_configured_key(value):
    """The private key in AUDIT_SIGNING_KEY (PEM, base64 PEM or base64 raw bytes)."""
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            return private_key_from_pem(text.encode())
        raw = base64.b64decode(text, validate=True)
        if raw.startswith(b"-----BEGIN"):
            return private_key_from_pem(raw)
        if len(raw) == 32:
            return Ed25519PrivateKey.from_private_bytes(raw)
    except (InvalidCheckpoint, binascii.Error, ValueError) as error:
        raise SigningKeyUnavailable(f"AUDIT_SIGNING_KEY is not an Ed25519 key: {error}") from error
    raise SigningKeyUnavailable("AUDIT_SIGNING_KEY must be PEM, base64 PEM or base64 of 32 bytes")


def _wrapping_key(secret):
    value = (secret.get_secret_value() if secret is not None else "").strip()
    hint = f"AUDIT_SECRET_KEY must be the base64 of {KEY_BYTES} random bytes"
    if not value:
        raise SigningKeyUnavailable(f"no AUDIT_SIGNING_KEY, and no AUDIT_SECRET_KEY: {hint}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SigningKeyUnavailable(f"{hint}; it is not valid base64") from error
    if len(raw) != KEY_BYTES:
        raise SigningKeyUnavailable(f"{hint}; it decodes to {len(raw)} bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)


def _record_public(conn, signer, encrypted=None):
    conn.execute(
        "INSERT INTO audit_signing_key (key_id, public_jwk, encrypted_private)"
        " VALUES (%s, %s, %s) ON CONFLICT (key_id) DO NOTHING",
        (signer.key_id, Jsonb(signer.public_jwk), encrypted),
    )


def load_signer(conn, settings):
    """The Signer from the settings or storage (generating one if needed); commits its record."""
    configured = settings.audit_signing_key
    if configured is not None and configured.get_secret_value():
        signer = Signer(parse_configured_key(configured.get_secret_value()))
        _record_public(conn, signer)
        conn.commit()
        return signer
    wrapping = _wrapping_key(settings.audit_secret_key)
    conn.execute(_LOCK)  # two processes starting at once must not both generate a key
    row = conn.execute(
        "SELECT key_id, encrypted_private FROM audit_signing_key"
        " WHERE encrypted_private IS NOT NULL"
        " ORDER BY created_at DESC, key_id LIMIT 1"
    ).fetchone()
    if row is not None:
        conn.rollback()
        key_id, encrypted = row[0], bytes(row[1])
        try:
            pem = decrypt_bytes(wrapping, encrypted, key_id.encode())
        except CipherError as error:
            raise SigningKeyUnavailable(
                f"the stored signing key {key_id} does not open with this AUDIT_SECRET_KEY"
            ) from error
        return Signer(private_key_from_pem(pem))
    signer = Signer(generate_private_key())
    encrypted = encrypt_bytes(
        wrapping, private_key_to_pem(signer.private_key), signer.key_id.encode()
    )
    _record_public(conn, signer, encrypted)
    conn.commit()
    return signer
