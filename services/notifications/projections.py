"""What notifications keeps from identity and ticketing events: members with their sealed
email, who is on each ticket with its sealed title, and who is in each of ticketing's groups.

Each sealed entry is kept as it came in the event's `pii` (under its subject's key): it is
opened only when a mail is sent, and once the key is shredded it never opens again. Every
field keeps the stream version that set it, so a late or redelivered event never brings an
older state back.
"""

import datetime

from services.notifications import store
from services.notifications.exceptions import TicketNotYetKnown
from shared.envelope import utcnow


def _sealed(event, field):
    entry = (event.pii or {}).get(field)
    return entry if isinstance(entry, dict) and "s" in entry else None


def _version(event):
    return event.stream_version or 0


# identity's members


def apply_identity(conn, event):
    """Fold a membership event; an erased subject's events add nothing back."""
    user_id = (event.data or {}).get("user_id")
    if not user_id or event.name not in IDENTITY or store.is_erased(conn, user_id):
        return
    IDENTITY[event.name](conn, event, user_id)


def _joined(conn, event, user_id):
    store.record_member_roles(conn, event.tenant_id, user_id, event.data["roles"], _version(event))
    _email(conn, event, user_id)


def _roles(conn, event, user_id):
    store.record_member_roles(conn, event.tenant_id, user_id, event.data["roles"], _version(event))


def _erased(conn, event, user_id):
    store.record_member_roles(conn, event.tenant_id, user_id, [], _version(event))


def _email(conn, event, user_id):
    email = _sealed(event, "email")
    if email is not None and email["s"] == user_id:
        store.record_member_email(conn, event.tenant_id, user_id, email, _version(event))


IDENTITY = {
    "user_joined": _joined,
    "member_roles_changed": _roles,
    "member_erased": _erased,
    "user_profile_rectified": _email,
}


# ticketing's tickets


def ticket_id_of(stream_id):
    return stream_id.removeprefix("ticket-")


def _opened(conn, event):
    data = event.data
    store.record_ticket(
        conn,
        event.tenant_id,
        event.stream_id,
        data.get("ticket_id") or ticket_id_of(event.stream_id),
        data["requester_id"],
        data.get("watchers") or (),
        _sealed(event, "title"),
        _version(event),
    )


def _updated(conn, event):
    title = _sealed(event, "title")
    if title is not None:
        store.record_title(conn, event.stream_id, title, _version(event))


def _assigned(conn, event):
    data = event.data
    store.record_assignee(
        conn, event.stream_id, data.get("assignee_id"), _version(event), data.get("group_id")
    )


def _group_member(conn, event):
    """A group's member joined or left it (ticketing's group streams: ids only)."""
    data = event.data
    store.record_group_member(
        conn,
        event.tenant_id,
        data["group_id"],
        data["user_id"],
        event.name == "group_member_added",
        _version(event),
    )


def _watchers(conn, event):
    store.change_watchers(
        conn, event.stream_id, event.data.get("added") or (), event.data.get("removed") or ()
    )


TICKETING = {
    "ticket_opened": _opened,
    "ticket_updated": _updated,
    "ticket_assigned": _assigned,
    "watchers_changed": _watchers,
    "group_member_added": _group_member,
    "group_member_removed": _group_member,
}


def apply_ticketing(conn, event, unknown_ticket_seconds):
    """Record what the event says about the ticket and return the ticket as now known (None:
    not a ticket's event). `TicketNotYetKnown` (retried) when its ticket_opened may yet
    arrive; an older event about an unknown ticket is of one opened before this service knew
    of tickets, and tells nobody."""
    apply = TICKETING.get(event.name)
    if apply is not None:
        apply(conn, event)
    found = store.ticket(conn, event.stream_id)
    if found is None and event.stream_id.startswith("ticket-"):
        age = utcnow() - event.occurred
        if age < datetime.timedelta(seconds=unknown_ticket_seconds):
            raise TicketNotYetKnown(event.stream_id)
    return found
