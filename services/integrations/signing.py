"""Webhook secrets and signatures (the Standard Webhooks specification).

A secret is `whsec_` and the base64 of 32 random bytes; it is shown once, when the webhook is
created, and stored sealed (AES-256-GCM, bound to the tenant and webhook) under a key derived
from INTEGRATIONS_SECRET_KEY, this service's own, with HKDF under a label of this service alone
(the label it had under the master key: a secret set to that key's value opens what was sealed
then). A delivery is signed as
`v1,<base64 of HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>`.
"""

import base64
import binascii
import hashlib
import hmac
import os
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import KEY_BYTES, CryptoError, decrypt_bytes, encrypt_bytes

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret():
    """(raw bytes, the `whsec_` text shown to the admin)."""
    raw = os.urandom(SECRET_BYTES)
    return raw, PREFIX + base64.b64encode(raw).decode()


def signature(secret, message_id, timestamp, body):
    """The `webhook-signature` header of `body` (bytes) sent at `timestamp` (whole seconds)."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret, message_id, body, now=None):
    """The Standard Webhooks headers of one attempt (signed at the time it is sent)."""
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": str(message_id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


class SecretBox:
    """Seals and opens webhook secrets under a key derived from INTEGRATIONS_SECRET_KEY."""

    def __init__(self, secret_key_value):
        hint = f"INTEGRATIONS_SECRET_KEY must be the base64 of {KEY_BYTES} random bytes"
        try:
            master = base64.b64decode((secret_key_value or "").strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError(f"{hint}; it is not valid base64") from exc
        if len(master) != KEY_BYTES:
            raise CryptoError(f"{hint}; it decodes to {len(master)} bytes")
        self._key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"dzdesk/integrations/webhook-secrets/v1",
        ).derive(master)

    @staticmethod
    def _context(tenant_id, webhook_id):
        return f"{tenant_id}/{webhook_id}".encode()

    def seal(self, tenant_id, webhook_id, raw):
        return encrypt_bytes(self._key, raw, self._context(tenant_id, webhook_id))

    def open(self, tenant_id, webhook_id, sealed):
        return decrypt_bytes(self._key, bytes(sealed), self._context(tenant_id, webhook_id))
