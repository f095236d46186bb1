"""The checks a received message passes to enter a chain: envelope shape, sender, canonical form."""

import datetime
import json
import uuid
from typing import NamedTuple

import rfc8785

from services.audit.chain import canonical_json
from services.audit.exceptions import ForgedSender, InvalidEnvelope
from shared.broker import owns_event
from shared.envelope import EVENT_TYPE

_REQUIRED = (
    "event_id",
    "event_type",
    "tenant_id",
    "stream_id",
    "occurred_at",
    "actor",
    "correlation_id",
    "data",
)


class Received(NamedTuple):
    tenant_id: str
    event_id: str
    canonical: bytes


def _uuid(envelope, name):
    try:
        return str(uuid.UUID(envelope[name]))
    except (TypeError, ValueError, AttributeError) as error:
        raise InvalidEnvelope(f"{name} is not a UUID") from error


def check(envelope):
    """The envelope's (tenant_id, event_id) when it has the shape of shared.envelope's schema.

    The same rules as EnvelopeSchema, written out: at thousands of events per second the
    marshmallow load would cost more than everything else an append does. Nothing is changed:
    audit keeps the envelope as received.
    """
    if not isinstance(envelope, dict):
        raise InvalidEnvelope("the body is not a JSON object")
    missing = [name for name in _REQUIRED if name not in envelope]
    if missing:
        raise InvalidEnvelope(f"missing {', '.join(missing)}")
    event_type, stream_id = envelope["event_type"], envelope["stream_id"]
    if not isinstance(event_type, str) or not EVENT_TYPE.match(event_type):
        raise InvalidEnvelope("event_type is not <service>.<name>")
    # NUL cannot be unescaped into PostgreSQL text, where stream_id is indexed
    if not isinstance(stream_id, str) or not 1 <= len(stream_id) <= 200 or "\x00" in stream_id:
        raise InvalidEnvelope("stream_id must be a string of 1 to 200 characters")
    if not isinstance(envelope["data"], dict) or not isinstance(envelope["actor"], dict):
        raise InvalidEnvelope("data and actor must be objects")
    if not isinstance(envelope.get("pii") or {}, dict):
        raise InvalidEnvelope("pii must be an object")
    occurred_at = envelope["occurred_at"]
    try:
        aware = datetime.datetime.fromisoformat(occurred_at).tzinfo is not None
    except (TypeError, ValueError):
        aware = False
    if not aware:
        raise InvalidEnvelope("occurred_at is not an ISO 8601 time with a zone")
    return _uuid(envelope, "tenant_id"), _uuid(envelope, "event_id")


def parse(body, sender):
    """A message body (bytes, text or an already decoded object) as chain input; only an
    event its own service published (the broker-checked `sender`) enters a chain."""
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        try:
            body = json.loads(body)
        except ValueError as error:
            raise InvalidEnvelope(f"the body is not JSON: {error}") from error
    tenant_id, event_id = check(body)
    if not owns_event(sender, body["event_type"]):
        raise ForgedSender(f"{body['event_type']} published by {sender}")
    try:
        canonical = canonical_json(body)
    except rfc8785.CanonicalizationError as error:
        raise InvalidEnvelope(f"the envelope has no canonical JSON form: {error}") from error
    return Received(tenant_id, event_id, canonical)
