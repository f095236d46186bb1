"""evolve(state, event) -> state and replay(events): how recorded facts build a Ticket."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from . import approvals
from . import lifecycle as lc
from .errors import TicketingError
from .fields import fold_fields
from .model import (
    COMMENT_ADDED,
    COMMENT_EDITED,
    FIELDS_CHANGED,
    PRIORITY_CHANGED,
    SLA_BREACHED,
    SLA_ESCALATED,
    SLA_WARNING,
    STATUS_CHANGED,
    TAGS_CHANGED,
    TICKET_ASSIGNED,
    TICKET_LINKED,
    TICKET_OPENED,
    TICKET_UNLINKED,
    TICKET_UPDATED,
    WATCHER_ADDED,
    WATCHER_REMOVED,
    WATCHERS_CHANGED,
    Comment,
    Link,
    RecordedEvent,
    SlaAlert,
    SlaEscalation,
    Ticket,
)


def evolve(state: Ticket | None, event: RecordedEvent) -> Ticket:
    """The ticket after `event`. Unknown event types only advance the version (newer writers)."""
    if event.type == TICKET_OPENED:
        if state is not None:
            raise TicketingError(f"ticket {state.ticket_id} was opened twice")
        return _opened(event)
    if state is None:
        raise TicketingError(f"a ticket stream cannot start with {event.type}")
    apply = _APPLIERS.get(event.type)
    evolved = apply(state, event) if apply else state
    return replace(evolved, version=event.version, updated_at=event.occurred_at)


def replay(events: Iterable[RecordedEvent]) -> Ticket | None:
    """The ticket built from its whole stream in order; None for an empty stream.

    Linear in the stream: comments are gathered in a list and an index and set once at the
    end, where folding each event with `evolve` would copy the tuple of comments every time.
    """
    state: Ticket | None = None
    comments: list[Comment] = []
    index: dict[str, int] = {}
    for event in events:
        if state is None or event.type not in (COMMENT_ADDED, COMMENT_EDITED):
            state = evolve(state, event)
            continue
        comment_id = event.data["comment_id"]
        if event.type == COMMENT_ADDED:
            index[comment_id] = len(comments)
            comments.append(_new_comment(event))
            state = _first_response(state, event)
        elif comment_id in index:
            comments[index[comment_id]] = _edited(comments[index[comment_id]], event)
        state = replace(state, version=event.version, updated_at=event.occurred_at)
    return replace(state, comments=tuple(comments)) if state is not None and comments else state


def _opened(event: RecordedEvent) -> Ticket:
    data = event.data
    return Ticket(
        # the title is sealed; streams written before it was still carry it in data
        ticket_id=data["ticket_id"],
        version=event.version,
        type=data["type"],
        title=event.pii.get("title", data.get("title", "")),
        description=event.pii.get("description", ""),
        category=data.get("category"),
        requester_id=data["requester_id"],
        opened_by=data.get("opened_by", event.actor_id),
        opened_at=event.occurred_at,
        updated_at=event.occurred_at,
        status=lc.NEW,
        urgency=data["urgency"],
        impact=data["impact"],
        critical=data.get("critical", False),
        priority=data["priority"],
        watchers=frozenset(data.get("watchers", ())),
        tags=frozenset(data.get("tags", ())),
        external_id=data.get("external_id"),
    )


def _first_response(state: Ticket, event: RecordedEvent) -> Ticket:
    if event.data.get("first_response") and state.first_responded_at is None:
        return replace(state, first_responded_at=event.occurred_at)
    return state


def _updated(state: Ticket, event: RecordedEvent) -> Ticket:
    changes = {key: event.data[key] for key in ("title", "type", "category") if key in event.data}
    changes.update({key: event.pii[key] for key in ("title", "description") if key in event.pii})
    return replace(state, **changes)


def _priority_changed(state: Ticket, event: RecordedEvent) -> Ticket:
    data = event.data
    return replace(
        state,
        urgency=data["urgency"],
        impact=data["impact"],
        critical=data["critical"],
        priority=data["priority"],
    )


def _status_changed(state: Ticket, event: RecordedEvent) -> Ticket:
    before, after, at = event.data["from_status"], event.data["to_status"], event.occurred_at
    pending_reason = event.data.get("reason") if after == lc.PENDING else None
    changes: dict = {"status": after, "pending_reason": pending_reason}
    if after == lc.RESOLVED:
        changes["resolved_at"] = at
    elif after == lc.CLOSED:
        changes["closed_at"] = at
    elif after == lc.CANCELLED:
        changes["cancelled_at"] = at
    elif before == lc.RESOLVED:
        changes.update(resolved_at=None, reopen_count=state.reopen_count + 1)
    return _first_response(replace(state, **changes), event)


def _new_comment(event: RecordedEvent) -> Comment:
    return Comment(
        comment_id=event.data["comment_id"],
        author_id=event.actor_id,
        body=event.pii.get("body", ""),
        internal=event.data["internal"],
        created_at=event.occurred_at,
    )


def _edited(comment: Comment, event: RecordedEvent) -> Comment:
    return replace(comment, body=event.pii.get("body", comment.body), edited_at=event.occurred_at)


def _comment_added(state: Ticket, event: RecordedEvent) -> Ticket:
    return _first_response(replace(state, comments=(*state.comments, _new_comment(event))), event)


def _comment_edited(state: Ticket, event: RecordedEvent) -> Ticket:
    comment_id = event.data["comment_id"]
    return replace(
        state,
        comments=tuple(
            _edited(c, event) if c.comment_id == comment_id else c for c in state.comments
        ),
    )


def _assigned(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, assignee_id=event.data["assignee_id"], group_id=event.data["group_id"])


def _watcher_added(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, watchers=state.watchers | {event.data["user_id"]})


def _watcher_removed(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, watchers=state.watchers - {event.data["user_id"]})


def _watchers_changed(state: Ticket, event: RecordedEvent) -> Ticket:
    removed, added = event.data["removed"], event.data["added"]
    return replace(state, watchers=state.watchers.difference(removed).union(added))


def _tags_changed(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, tags=(state.tags - set(event.data["removed"])) | set(event.data["added"]))


def _linked(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, links=state.links | {Link(event.data["kind"], event.data["other_id"])})


def _unlinked(state: Ticket, event: RecordedEvent) -> Ticket:
    return replace(state, links=state.links - {Link(event.data["kind"], event.data["other_id"])})


def _sla_alert(state: Ticket, event: RecordedEvent) -> Ticket:
    kind = "warning" if event.type == SLA_WARNING else "breach"
    alert = SlaAlert(
        kind, event.data["target"], event.data["target_minutes"], event.data.get("round", 0)
    )
    return replace(state, sla_alerts=state.sla_alerts | {alert})


def _fields_changed(state: Ticket, event: RecordedEvent) -> Ticket:
    values, sealed = fold_fields(state.fields, state.sealed_fields, event.data, event.pii)
    return replace(state, fields=values, sealed_fields=sealed)


def _sla_escalated(state: Ticket, event: RecordedEvent) -> Ticket:
    data = event.data
    taken = SlaEscalation(
        data["policy_id"], data["target"], data["level"], data["action"], data["round"]
    )
    return replace(state, sla_escalations=state.sla_escalations | {taken})


_APPLIERS: dict[str, Callable[[Ticket, RecordedEvent], Ticket]] = {
    TICKET_UPDATED: _updated,
    PRIORITY_CHANGED: _priority_changed,
    STATUS_CHANGED: _status_changed,
    COMMENT_ADDED: _comment_added,
    COMMENT_EDITED: _comment_edited,
    TICKET_ASSIGNED: _assigned,
    WATCHER_ADDED: _watcher_added,
    WATCHER_REMOVED: _watcher_removed,
    WATCHERS_CHANGED: _watchers_changed,
    TAGS_CHANGED: _tags_changed,
    TICKET_LINKED: _linked,
    TICKET_UNLINKED: _unlinked,
    SLA_WARNING: _sla_alert,
    SLA_BREACHED: _sla_alert,
    FIELDS_CHANGED: _fields_changed,
    SLA_ESCALATED: _sla_escalated,
    **approvals.APPLIERS,
}
