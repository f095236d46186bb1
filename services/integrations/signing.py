"""Webhook secrets and signatures (the Standard Webhooks specification).

A secret is `whsec_` and the base64 of 32 random bytes; it is shown once, when the webhook is
created, and stored sealed (AES-256-GCM, bound to the tenant and webhook) under a key derived
from the master key with HKDF under a label of this service alone. A delivery is signed as
`v1,<base64 of HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>`.
"""

import base64
import hashlib
import hmac
import os
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import MasterKey, decrypt_bytes, encrypt_bytes

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
    """Seals and opens webhook secrets under a key derived from the master key."""

    def __init__(self, master_key_value):
        MasterKey.from_env_value(master_key_value)  # the same checks and messages as elsewhere
        master = base64.b64decode(master_key_value.strip())
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
