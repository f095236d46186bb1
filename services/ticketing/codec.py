"""Translation between the domain's values and stored envelopes: actors, sealed pii, recorded events."""

from datetime import datetime

from services.ticketing.domain import Actor, RecordedEvent

PREFIX = "ticketing."


def stream_id(ticket_id):
    return f"ticket-{ticket_id}"


def ticket_id_of(stream):
    return stream.removeprefix("ticket-")


def actor_from_principal(principal):
    return Actor(principal.user_id, frozenset(principal.roles))


def envelope_actor(actor):
    """The envelope's actor: `{user_id, roles}` for people, `{system}` for the service itself."""
    if actor.is_system:
        return {"system": actor.user_id.removeprefix("system:")}
    return {"user_id": actor.user_id, "roles": sorted(actor.roles)}


def actor_id(envelope_actor_value):
    if "system" in envelope_actor_value:
        return f"system:{envelope_actor_value['system']}"
    return envelope_actor_value.get("user_id", "")


def seal(cipher, tenant_id, new_event):
    """The envelope `pii` of a decided event: each value sealed under its subject's key."""
    if not new_event.pii:
        return None
    return cipher.seal(
        tenant_id,
        {name: (entry["subject_id"], entry["value"]) for name, entry in new_event.pii.items()},
    )


def recorded(envelope, pii):
    """A RecordedEvent for the domain from a stored envelope and its opened pii."""
    return RecordedEvent(
        type=envelope.event_type.removeprefix(PREFIX),
        data=envelope.data,
        pii=pii,
        version=envelope.stream_version,
        occurred_at=datetime.fromisoformat(envelope.occurred_at),
        actor_id=actor_id(envelope.actor),
    )


def opened(cipher, envelope):
    """The envelope as a RecordedEvent with its personal fields decrypted (or "[erased]")."""
    return recorded(envelope, cipher.open(envelope.tenant_id, envelope.pii) if envelope.pii else {})


def iso(value):
    return value.isoformat() if isinstance(value, datetime) else value
