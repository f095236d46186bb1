"""Domain values and stored envelopes: stream ids, actors, sealed personal fields, events."""

from datetime import datetime

from services.ticketing.domain import ERASED, Actor, RecordedEvent
from shared.envelope import person_actor, service_account_actor, system_actor

PREFIX = "ticketing."


def stream_id(ticket_id):
    return f"ticket-{ticket_id}"


def ticket_id_of(stream):
    return stream.removeprefix("ticket-")


def actor_from_principal(principal):
    return Actor(
        principal.user_id, frozenset(principal.roles), service_account=principal.is_service_account
    )


def envelope_actor(actor):
    """The envelope's actor: `{user_id, roles}` for people, `{service_account}` for a program,
    `{system}` for the service itself."""
    if actor.is_system:
        return system_actor(actor.user_id.removeprefix("system:"))
    if actor.service_account:
        return service_account_actor(actor.user_id)
    return person_actor(actor.user_id, actor.roles)


def actor_id(envelope_actor_value):
    if "system" in envelope_actor_value:
        return f"system:{envelope_actor_value['system']}"
    if "service_account" in envelope_actor_value:
        return envelope_actor_value["service_account"]
    return envelope_actor_value.get("user_id", "")


def seal(cipher, tenant_id, new_event):
    """The envelope `pii` of a decided event: each value sealed under its subject's key."""
    if not new_event.pii:
        return None
    return cipher.seal(
        tenant_id,
        {name: (entry["subject_id"], entry["value"]) for name, entry in new_event.pii.items()},
    )


def opened(cipher, envelope):
    """The envelope as a RecordedEvent with its personal fields decrypted (or "[erased]")."""
    return RecordedEvent(
        type=envelope.event_type.removeprefix(PREFIX),
        data=envelope.data,
        pii=cipher.open(envelope.tenant_id, envelope.pii) if envelope.pii else {},
        version=envelope.stream_version,
        occurred_at=datetime.fromisoformat(envelope.occurred_at),
        actor_id=actor_id(envelope.actor),
    )


def decided(envelope, new_event):
    """What `opened` gives back for the envelope of an event just decided and sealed, taken
    from the event's own plaintext: nothing sealed a moment ago needs decrypting. A field
    sealed without ciphertext (its subject is erased) is ERASED, as it opens."""
    return RecordedEvent(
        type=envelope.event_type.removeprefix(PREFIX),
        data=envelope.data,
        pii={
            name: entry["value"] if "c" in envelope.pii[name] else ERASED
            for name, entry in new_event.pii.items()
        },
        version=envelope.stream_version,
        occurred_at=datetime.fromisoformat(envelope.occurred_at),
        actor_id=actor_id(envelope.actor),
    )
