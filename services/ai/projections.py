"""What the ai service keeps from ticketing and identity events: sealed text, labels, and
people's names."""

from services.ai import store
from services.ai.exceptions import TicketNotYetKnown

RESOLVED = "resolved"
STAFF = frozenset({"agent", "admin"})


def _sealed(event, field):
    """The event's sealed pii entry for ``field``, kept as it came (already under its author's
    key)."""
    entry = (event.pii or {}).get(field)
    return entry if isinstance(entry, dict) and "s" in entry else None


def _version(event):
    return event.stream_version or 0


def _by_staff(event):
    return bool(STAFF & set(event.actor.get("roles") or ()))


def ticket_opened(conn, cipher, event):
    data = event.data
    requester_id = data["requester_id"]
    # Labels teach only when the desk chose them: a requester's own urgency is not a triage.
    labels = (
        {"category": data.get("category"), "priority": data.get("priority")}
        if _by_staff(event)
        else {}
    )
    store.record_ticket(
        conn,
        event.tenant_id,
        event.stream_id,
        _version(event),
        ticket_id=data["ticket_id"],
        requester_id=requester_id,
        title=_title(cipher, event, requester_id),
        description=_sealed(event, "description"),
        **labels,
    )


def _title(cipher, event, requester_id):
    """The title as ticketing sealed it (under the requester's key); events written before
    titles were sealed carry it in clear, and it is sealed here the same way."""
    if "title" in event.data:
        return cipher.seal_value(event.tenant_id, requester_id, "title", event.data["title"])
    return _sealed(event, "title")


def ticket_updated(conn, cipher, event):
    fields = {}
    if "category" in event.data:
        fields["category"] = event.data["category"]
    if "description" in (event.pii or {}):
        fields["description"] = _sealed(event, "description")
    if "title" in (event.pii or {}):
        fields["title"] = _sealed(event, "title")
    elif "title" in event.data:
        requester_id = store.requester_of(conn, event.stream_id)
        if requester_id is None:
            raise TicketNotYetKnown(event.stream_id)  # retried: ticket_opened is on its way
        fields["title"] = _title(cipher, event, requester_id)
    if fields:
        store.record_ticket(conn, event.tenant_id, event.stream_id, _version(event), **fields)


def priority_changed(conn, cipher, event):
    store.record_ticket(
        conn, event.tenant_id, event.stream_id, _version(event), priority=event.data["priority"]
    )


def status_changed(conn, cipher, event):
    note = _sealed(event, "note")
    if event.data.get("to_status") == RESOLVED and note is not None:
        store.record_ticket(
            conn, event.tenant_id, event.stream_id, _version(event), resolution=note
        )


def comment_added(conn, cipher, event):
    body = _sealed(event, "body")
    if body is not None:
        store.record_comment(
            conn,
            event.tenant_id,
            event.stream_id,
            _version(event),
            event.data["comment_id"],
            body,
            internal=event.data.get("internal", False),
        )


def comment_edited(conn, cipher, event):
    body = _sealed(event, "body")
    if body is not None:
        store.record_comment(
            conn, event.tenant_id, event.stream_id, _version(event), event.data["comment_id"], body
        )


TICKETING = {
    "ticket_opened": ticket_opened,
    "ticket_updated": ticket_updated,
    "priority_changed": priority_changed,
    "status_changed": status_changed,
    "comment_added": comment_added,
    "comment_edited": comment_edited,
}


def is_person_field(field):
    return field.endswith("name") or field.endswith("email")


def remember_people(conn, event):
    """Keep the sealed names and emails an event carries, for the redactor; returns how many."""
    kept = 0
    for field in sorted(event.pii or {}):
        entry = _sealed(event, field)
        if entry is not None and "c" in entry and is_person_field(field):
            store.remember_person(conn, event.tenant_id, field, entry)
            kept += 1
    return kept


def apply_ticketing(conn, cipher, event):
    """Record a ticketing event; other event types (watchers, links, SLA) teach nothing here."""
    apply = TICKETING.get(event.name)
    if apply is not None:
        apply(conn, cipher, event)
    remember_people(conn, event)
