"""Signed audit checkpoints: the value, its Ed25519 signature over (tenant, seq, hash), checks."""

import base64
import dataclasses
import datetime
import re
import uuid

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared import jwk

# Prefixed so a checkpoint signature can never be replayed as a signature over anything else
# made with the same key (an access token, a future message format).
CHECKPOINT_DOMAIN = b"dzdesk.audit.checkpoint.v1\n"
_HASH = re.compile(r"^[0-9a-f]{64}$")


class InvalidCheckpoint(ValueError):
    """A checkpoint or key document that is malformed (not one whose signature fails)."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    tenant_id: str
    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature_b64: str

    def to_dict(self):
        """The HTTP shape: the signature travels under the key `signature`."""
        return {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "hash": self.hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": self.signature_b64,
        }

    @classmethod
    def from_dict(cls, body):
        if not isinstance(body, dict):
            raise InvalidCheckpoint("a checkpoint must be a JSON object")
        signature = body.get("signature", body.get("signature_b64"))
        fields = {
            "tenant_id": body.get("tenant_id"),
            "seq": body.get("seq"),
            "hash": body.get("hash"),
            "signed_at": body.get("signed_at"),
            "key_id": body.get("key_id"),
            "signature_b64": signature,
        }
        missing = sorted(name for name, value in fields.items() if value is None)
        if missing:
            raise InvalidCheckpoint(f"checkpoint lacks {', '.join(missing)}")
        if type(fields["seq"]) is not int:
            raise InvalidCheckpoint("checkpoint seq must be an integer")
        if not all(isinstance(fields[name], str) for name in fields if name != "seq"):
            raise InvalidCheckpoint("checkpoint fields other than seq must be strings")
        return cls(**fields)


def checkpoint_message(tenant_id, seq, hash):
    """The exact bytes a checkpoint signature covers.

    `CHECKPOINT_DOMAIN` followed by the RFC 8785 canonical JSON of
    `{"hash": <64 lowercase hex>, "seq": <int >= 1>, "tenant_id": <lowercase UUID>}`, e.g.
    `dzdesk.audit.checkpoint.v1\\n{"hash":"ab..","seq":42,"tenant_id":"0b6e..."}`. JSON with
    sorted keys leaves no ambiguity between fields; `signed_at` is informational and unsigned.
    """
    if type(seq) is not int or seq < 1:
        raise InvalidCheckpoint(f"checkpoint seq must be a positive integer, got {seq!r}")
    if not isinstance(hash, str) or not _HASH.match(hash):
        raise InvalidCheckpoint("checkpoint hash must be 64 lowercase hex digits")
    try:
        tenant = str(uuid.UUID(str(tenant_id)))
    except ValueError as error:
        raise InvalidCheckpoint(f"tenant_id {tenant_id!r} is not a UUID") from error
    return CHECKPOINT_DOMAIN + rfc8785.dumps({"tenant_id": tenant, "seq": seq, "hash": hash})


def sign_checkpoint(private_key, key_id, tenant_id, seq, hash, signed_at):
    """Sign a tenant's chain head `(seq, hash)`; `signed_at` is an aware datetime or ISO text."""
    if isinstance(signed_at, datetime.datetime):
        if signed_at.tzinfo is None:
            raise InvalidCheckpoint("signed_at must carry a time zone")
        signed_at = signed_at.astimezone(datetime.UTC).isoformat()
    signature = private_key.sign(checkpoint_message(tenant_id, seq, hash))
    return Checkpoint(
        tenant_id=str(uuid.UUID(str(tenant_id))),
        seq=seq,
        hash=hash,
        signed_at=signed_at,
        key_id=key_id,
        signature_b64=base64.b64encode(signature).decode("ascii"),
    )


def verify_checkpoint(checkpoint, public_key):
    """True when the signature is valid for the checkpoint's tenant, seq and hash under the key.

    `public_key` is an `Ed25519PublicKey`, its 32 raw bytes, or a JWK dict. A malformed
    checkpoint or signature is simply not valid; a malformed key raises `InvalidCheckpoint`.
    """
    key = as_public_key(public_key)
    try:
        message = checkpoint_message(checkpoint.tenant_id, checkpoint.seq, checkpoint.hash)
        signature = base64.b64decode(checkpoint.signature_b64, validate=True)
        key.verify(signature, message)
    except (InvalidCheckpoint, InvalidSignature, ValueError, TypeError):
        return False
    return True


def as_public_key(key):
    """An `Ed25519PublicKey` from itself, its 32 raw bytes, or a JWK dict."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, (bytes, bytearray, memoryview)):
        try:
            return Ed25519PublicKey.from_public_bytes(bytes(key))
        except ValueError as error:
            raise InvalidCheckpoint("a raw Ed25519 public key is 32 bytes") from error
    if isinstance(key, dict):
        try:
            return jwk.key_from_jwk(key)
        except jwk.InvalidJwk as error:
            raise InvalidCheckpoint(str(error)) from error
    raise InvalidCheckpoint(f"unsupported public key type {type(key).__name__}")


def public_keys_by_id(document):
    """`{kid: Ed25519PublicKey}` from a JWK, a JWK set `{"keys": [...]}` or a list of JWKs."""
    try:
        return jwk.keys_by_id(document)
    except jwk.InvalidJwk as error:
        raise InvalidCheckpoint(str(error)) from error
