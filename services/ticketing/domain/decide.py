"""decide(state, command, now) -> [NewEvent]: the business rules of every ticket command."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from . import approvals, links
from . import lifecycle as lc
from .commands import (
    AddAttachment,
    AddComment,
    AddWatcher,
    AssignTicket,
    ChangeWatchers,
    EditComment,
    LinkTicket,
    OpenTicket,
    RecordSlaAlert,
    RecordSlaEscalation,
    RectifyPersonalText,
    RemoveAttachment,
    RemoveWatcher,
    ResolveWithParent,
    SetFields,
    SetPriority,
    TagTicket,
    Transition,
    UnlinkTicket,
    UpdateTicket,
)
from .errors import (
    InvalidTransition,
    NotPermitted,
    TicketAlreadyExists,
    TicketClosed,
    TicketNotFound,
    ValidationFailed,
)
from .fields import FieldDefinition, clean_external_id, decide_fields
from .groups import check_assignment
from .model import (
    ATTACHMENT_ADDED,
    ATTACHMENT_REMOVED,
    COMMENT_ADDED,
    COMMENT_EDITED,
    PRIORITY_CHANGED,
    PRIVACY_OFFICER,
    REQUESTER_TICKET_TYPES,
    SCAN_VERDICTS,
    SLA_ALERT_KINDS,
    SLA_ESCALATED,
    SLA_TARGETS,
    STATUS_CHANGED,
    TAGS_CHANGED,
    TICKET_ASSIGNED,
    TICKET_OPENED,
    TICKET_TYPES,
    TICKET_UPDATED,
    WATCHERS_CHANGED,
    Actor,
    NewEvent,
    SlaAlert,
    SlaEscalation,
    Ticket,
    pii_value,
)
from .people import named_people, require_members
from .permissions import (
    counts_as_first_response,
    is_requester,
    require_participant,
    require_privileged,
)
from .priority import LEVELS, PRIORITIES, priority_for
from .routing import (
    ApplyTriage,
    ReleaseAssignment,
    RouteTicket,
    decide_release,
    decide_route,
    decide_triage,
)
from .validation import (
    TAGS_MAX,
    WATCHERS_MAX,
    bounded,
    clean_category,
    clean_choice,
    clean_id,
    clean_ids,
    clean_optional_id,
    clean_tags,
    clean_text,
    clean_title,
)


def decide(
    state: Ticket | None,
    command: object,
    now: datetime,
    members: Mapping[str, frozenset[str]] | None = None,
    definitions: Mapping[str, FieldDefinition] | None = None,
    groups: Mapping[str, frozenset[str]] | None = None,
) -> list[NewEvent]:
    """The events a command produces on a ticket, or a TicketingError; [] when nothing changes.

    `state` is None for a stream without events. `now` is the service's clock (UTC), the instant
    the resulting events will carry as occurred_at. `members` (user id -> roles) are the tenant's
    members among the people the command names (people.named_people); the service always
    passes them, None skips the membership check (pure tests of other rules). `definitions`
    are the tenant's custom ticket fields (fields.py); None: none defined. `groups` (group id
    -> member ids) are the tenant's groups the command names (groups.named_groups): the group
    must exist and an assignee be in it; None skips that check likewise.
    """
    actor = getattr(command, "actor", None)
    for field, ids in named_people(command).items():
        ids = clean_ids(field, ids)  # 422 on a malformed id before asking who is a member
        if members is not None:
            require_members(actor, field, ids, members)
    if groups is not None:
        check_assignment(command, groups)
    if isinstance(command, OpenTicket):
        if state is not None:
            raise TicketAlreadyExists(state.ticket_id)
        opened = _open(command)
        return opened + _open_fields(command, opened[0].data, definitions, members)
    if state is None:
        raise TicketNotFound()
    if isinstance(command, SetFields):
        return _set_fields(state, command, definitions, members)
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"not a ticketing command: {type(command).__name__}")
    return handler(state, command, now)


def _require_open(state: Ticket) -> None:
    if state.status in lc.TERMINAL:
        raise TicketClosed(state.ticket_id, state.status)


def _open(cmd: OpenTicket) -> list[NewEvent]:
    actor = cmd.actor
    ticket_id = clean_id("ticket_id", cmd.ticket_id)
    requester_id = clean_id("requester_id", cmd.requester_id or actor.user_id)
    if requester_id != actor.user_id and not actor.is_privileged:
        raise NotPermitted("only agents and admins may open a ticket on someone else's behalf")
    ticket_type = clean_choice("type", cmd.type, TICKET_TYPES)
    if ticket_type not in REQUESTER_TICKET_TYPES and not actor.is_privileged:
        raise NotPermitted(f"only agents and admins may open a {ticket_type} ticket")
    if (cmd.critical or cmd.tags) and not actor.is_privileged:
        raise NotPermitted("only agents and admins may set critical priority or tags")
    urgency = clean_choice("urgency", cmd.urgency, LEVELS)
    impact = clean_choice("impact", cmd.impact, LEVELS)
    description = clean_text("description", cmd.description, required=False)
    title = clean_title(cmd.title)
    data = {
        "ticket_id": ticket_id,
        "type": ticket_type,
        "category": None if cmd.category is None else clean_category(cmd.category),
        "urgency": urgency,
        "impact": impact,
        "critical": bool(cmd.critical),
        "priority": priority_for(urgency, impact, bool(cmd.critical)),
        "requester_id": requester_id,
        "opened_by": actor.user_id,
        "watchers": sorted(
            bounded("watchers", clean_ids("watchers", cmd.watchers) - {requester_id}, WATCHERS_MAX)
        ),
        "tags": sorted(bounded("tags", clean_tags(cmd.tags), TAGS_MAX)),
    }
    if cmd.external_id is not None:
        data["external_id"] = clean_external_id(cmd.external_id)
    # Title and description are about the requester even when an agent types them, so they
    # are sealed under the requester's key: erasing the requester erases them.
    pii = {"title": pii_value(requester_id, title)}
    if description:
        pii["description"] = pii_value(requester_id, description)
    return [NewEvent(TICKET_OPENED, data, pii)]


def _open_fields(cmd: OpenTicket, data: dict, definitions, members) -> list[NewEvent]:
    """The opening's custom field values, required ones checked (after ticket_opened)."""
    return decide_fields(
        actor=cmd.actor,
        requester_id=data["requester_id"],
        ticket_type=data["type"],
        current={},
        values=cmd.fields,
        definitions=definitions,
        members=members,
        complete=True,
    )


def _set_fields(state: Ticket, cmd: SetFields, definitions, members) -> list[NewEvent]:
    require_participant(state, cmd.actor, "set a ticket's fields")
    _require_open(state)
    return decide_fields(
        actor=cmd.actor,
        requester_id=state.requester_id,
        ticket_type=state.type,
        current=state.fields,
        values=cmd.fields,
        definitions=definitions,
        members=members,
        complete=cmd.complete,
    )


def _update(state: Ticket, cmd: UpdateTicket, now: datetime) -> list[NewEvent]:
    actor = cmd.actor
    require_participant(state, actor, "edit a ticket")
    _require_open(state)
    changes: dict[str, object] = {}
    pii = {}
    if cmd.title is not None and (title := clean_title(cmd.title)) != state.title:
        pii["title"] = pii_value(state.requester_id, title)
    if (
        cmd.type is not None
        and (ticket_type := clean_choice("type", cmd.type, TICKET_TYPES)) != state.type
    ):
        require_privileged(actor, "change a ticket's type")
        changes["type"] = ticket_type
    if cmd.category is not None and (category := clean_category(cmd.category)) != state.category:
        require_privileged(actor, "change a ticket's category")
        changes["category"] = category
    if cmd.description is not None:
        description = clean_text("description", cmd.description, required=False)
        if description != state.description:
            pii["description"] = pii_value(state.requester_id, description)
    if not changes and not pii:
        return []
    return [NewEvent(TICKET_UPDATED, {"fields": sorted([*changes, *pii]), **changes}, pii)]


def _set_priority(state: Ticket, cmd: SetPriority, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "change a ticket's priority")
    _require_open(state)
    urgency = state.urgency if cmd.urgency is None else clean_choice("urgency", cmd.urgency, LEVELS)
    impact = state.impact if cmd.impact is None else clean_choice("impact", cmd.impact, LEVELS)
    critical = state.critical if cmd.critical is None else bool(cmd.critical)
    if (urgency, impact, critical) == (state.urgency, state.impact, state.critical):
        return []
    data = {
        "urgency": urgency,
        "impact": impact,
        "critical": critical,
        "priority": priority_for(urgency, impact, critical),
        "previous_priority": state.priority,
    }
    return [NewEvent(PRIORITY_CHANGED, data, {})]


def _status_changed(
    state: Ticket,
    actor: Actor,
    to: str,
    reason: str | None,
    *,
    pii: dict | None = None,
    **extra: str,
) -> NewEvent:
    data = {
        "from_status": state.status,
        "to_status": to,
        "reason": reason,
        "first_response": counts_as_first_response(state, actor),
        **extra,
    }
    return NewEvent(STATUS_CHANGED, data, pii or {})


def _transition(state: Ticket, cmd: Transition, now: datetime) -> list[NewEvent]:
    actor = cmd.actor
    require_participant(state, actor, "change a ticket's status")
    to = clean_choice("to", cmd.to, lc.STATUSES)
    if to not in lc.ALLOWED[state.status]:
        raise InvalidTransition(state.status, to, lc.allowed_targets(state.status))
    if not actor.is_privileged and (state.status, to) not in lc.REQUESTER_TRANSITIONS:
        raise NotPermitted(f"only agents and admins may move a ticket from {state.status} to {to}")
    approvals.require_approved(state, to)
    if to == lc.PENDING:
        reason = clean_choice("reason", cmd.reason, lc.PENDING_REASONS)
    elif cmd.reason is not None:
        raise ValidationFailed("reason", "only a move to pending takes a reason")
    else:
        reason = None
    note = "" if cmd.note is None else clean_text("note", cmd.note, required=False)
    pii = {"note": pii_value(actor.user_id, note)} if note else {}
    return [_status_changed(state, actor, to, reason, pii=pii)]


def _add_comment(state: Ticket, cmd: AddComment, now: datetime) -> list[NewEvent]:
    actor = cmd.actor
    require_participant(state, actor, "comment on a ticket")
    if cmd.internal and not actor.is_privileged:
        raise NotPermitted("only agents and admins may write internal comments")
    _require_open(state)
    comment_id = clean_id("comment_id", cmd.comment_id)
    body = clean_text("body", cmd.body, required=True)
    if state.comment(comment_id) is not None:
        return []  # a retried command: the comment is already there
    first = not cmd.internal and counts_as_first_response(state, actor)
    events = [
        NewEvent(
            COMMENT_ADDED,
            {"comment_id": comment_id, "internal": bool(cmd.internal), "first_response": first},
            {"body": pii_value(actor.user_id, body)},
        )
    ]
    # The awaited answer has arrived: work resumes (and the resolution clock with it).
    if (
        state.status == lc.PENDING
        and state.pending_reason == lc.AWAITING_REQUESTER
        and is_requester(state, actor)
        and not cmd.internal
        and not approvals.blocks(state, lc.IN_PROGRESS)
    ):
        events.append(_status_changed(state, actor, lc.IN_PROGRESS, lc.REQUESTER_REPLIED))
    return events


def _edit_comment(state: Ticket, cmd: EditComment, now: datetime) -> list[NewEvent]:
    require_participant(state, cmd.actor, "edit comments")
    comment = state.comment(clean_id("comment_id", cmd.comment_id))
    if comment is None:
        raise ValidationFailed("comment_id", "no such comment on this ticket")
    if cmd.actor.user_id != comment.author_id:
        raise NotPermitted("only its author may edit a comment")
    _require_open(state)
    body = clean_text("body", cmd.body, required=True)
    if body == comment.body:
        return []
    return [
        NewEvent(
            COMMENT_EDITED,
            {"comment_id": comment.comment_id, "rectification": False},
            {"body": pii_value(comment.author_id, body)},
        )
    ]


def _rectify(state: Ticket, cmd: RectifyPersonalText, now: datetime) -> list[NewEvent]:
    if not (cmd.actor.is_system or PRIVACY_OFFICER in cmd.actor.roles):
        raise NotPermitted(
            "only the privacy service or a privacy officer may rectify personal text"
        )
    field = clean_choice("field", cmd.field, ("title", "description", "comment"))
    if field == "title":
        return [
            NewEvent(
                TICKET_UPDATED,
                {"fields": ["title"], "rectification": True},
                {"title": pii_value(state.requester_id, clean_title(cmd.value))},
            )
        ]
    value = clean_text("value", cmd.value, required=field == "comment")
    if field == "description":
        return [
            NewEvent(
                TICKET_UPDATED,
                {"fields": ["description"], "rectification": True},
                {"description": pii_value(state.requester_id, value)},
            )
        ]
    comment = state.comment(clean_id("comment_id", cmd.comment_id))
    if comment is None:
        raise ValidationFailed("comment_id", "no such comment on this ticket")
    return [
        NewEvent(
            COMMENT_EDITED,
            {"comment_id": comment.comment_id, "rectification": True},
            {"body": pii_value(comment.author_id, value)},
        )
    ]


def _assign(state: Ticket, cmd: AssignTicket, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "assign a ticket")
    _require_open(state)
    assignee_id = clean_optional_id("assignee_id", cmd.assignee_id)
    group_id = clean_optional_id("group_id", cmd.group_id)
    if (assignee_id, group_id) == (state.assignee_id, state.group_id):
        return []
    data = {
        "assignee_id": assignee_id,
        "group_id": group_id,
        "previous_assignee_id": state.assignee_id,
        "previous_group_id": state.group_id,
    }
    return [NewEvent(TICKET_ASSIGNED, data, {})]


def _change_watchers(state: Ticket, cmd: ChangeWatchers, now: datetime) -> list[NewEvent]:
    """One event for the whole change; anyone may stop watching, the rest is participants'."""
    add, remove = clean_ids("watchers", cmd.add), clean_ids("watchers", cmd.remove)
    if add or remove - {cmd.actor.user_id}:
        require_participant(state, cmd.actor, "change other watchers")
    _require_open(state)
    if add & remove:
        raise ValidationFailed("watchers", "a watcher cannot be added and removed at once")
    added, removed = add - state.watchers - {state.requester_id}, remove & state.watchers
    if not added and not removed:
        return []
    bounded("watchers", (state.watchers - removed) | added, WATCHERS_MAX)
    return [NewEvent(WATCHERS_CHANGED, {"added": sorted(added), "removed": sorted(removed)}, {})]


def _add_watcher(state: Ticket, cmd: AddWatcher, now: datetime) -> list[NewEvent]:
    return _change_watchers(
        state, ChangeWatchers(actor=cmd.actor, add=frozenset({cmd.user_id})), now
    )


def _remove_watcher(state: Ticket, cmd: RemoveWatcher, now: datetime) -> list[NewEvent]:
    return _change_watchers(
        state, ChangeWatchers(actor=cmd.actor, remove=frozenset({cmd.user_id})), now
    )


def _tag(state: Ticket, cmd: TagTicket, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "tag a ticket")
    _require_open(state)
    add, remove = clean_tags(cmd.add), clean_tags(cmd.remove)
    if add & remove:
        raise ValidationFailed("tags", "a tag cannot be added and removed at once")
    added, removed = add - state.tags, remove & state.tags
    if not added and not removed:
        return []
    bounded("tags", (state.tags - removed) | added, TAGS_MAX)
    return [NewEvent(TAGS_CHANGED, {"added": sorted(added), "removed": sorted(removed)}, {})]


def _resolve_with_parent(state: Ticket, cmd: ResolveWithParent, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "resolve a ticket with its parent")
    parent_id = clean_id("parent_id", cmd.parent_id)
    # No-op rather than error: the process manager may run twice or race an unlink.
    if state.status not in lc.ACTIVE or parent_id not in state.linked(links.CHILD_OF):
        return []
    if approvals.blocks(state, lc.RESOLVED):
        return []  # an unapproved change waits for its sign-off, whatever its parent does
    return [_status_changed(state, cmd.actor, lc.RESOLVED, lc.PARENT_CLOSED, parent_id=parent_id)]


def _record_sla_alert(state: Ticket, cmd: RecordSlaAlert, now: datetime) -> list[NewEvent]:
    if not cmd.actor.is_system:
        raise NotPermitted("only the service's SLA timer records SLA alerts")
    event_type = SLA_ALERT_KINDS[clean_choice("kind", cmd.kind, SLA_ALERT_KINDS)]
    target = clean_choice("target", cmd.target, SLA_TARGETS)
    if cmd.at > now:
        raise ValidationFailed("at", "the alert is not due yet")
    if SlaAlert(cmd.kind, target, cmd.target_minutes, cmd.round) in state.sla_alerts:
        return []
    data = {
        "target": target,
        "due_at": cmd.due_at.isoformat(),
        "target_minutes": cmd.target_minutes,
    }
    if cmd.round:
        data["round"] = cmd.round
    return [NewEvent(event_type, data, {})]


ESCALATION_ACTIONS = ("notify_group", "reassign", "raise_priority")
ESCALATION_LEVELS = ("warning", "breach")


def _record_sla_escalation(
    state: Ticket, cmd: RecordSlaEscalation, now: datetime
) -> list[NewEvent]:
    """The escalation's own event, then what the action changes (an assignment, a priority),
    each by the system actor; nothing when this escalation was taken already."""
    if not cmd.actor.is_system:
        raise NotPermitted("only the service's SLA timer escalates")
    target = clean_choice("target", cmd.target, SLA_TARGETS)
    level = clean_choice("level", cmd.level, ESCALATION_LEVELS)
    action = clean_choice("action", cmd.action, ESCALATION_ACTIONS)
    identity = SlaEscalation(cmd.policy_id, target, level, action, cmd.round)
    if identity in state.sla_escalations or state.status in lc.TERMINAL:
        return []
    group_id = clean_optional_id("group_id", cmd.group_id)
    if action == "reassign" and group_id is None:
        raise ValidationFailed("group_id", "a reassignment names the group")
    data = {
        "policy_id": cmd.policy_id,
        "target": target,
        "level": level,
        "action": action,
        "round": cmd.round,
        "reason": cmd.reason,
        "target_minutes": cmd.target_minutes,
        "due_at": cmd.due_at.isoformat(),
        "group_id": group_id if group_id or action != "notify_group" else state.group_id,
    }
    events = [NewEvent(SLA_ESCALATED, data, {})]
    if action == "reassign" and (state.group_id, state.assignee_id) != (group_id, None):
        moved = {
            "assignee_id": None,
            "group_id": group_id,
            "previous_assignee_id": state.assignee_id,
            "previous_group_id": state.group_id,
        }
        events.append(NewEvent(TICKET_ASSIGNED, moved, {}))
    elif action == "raise_priority":
        raised = raised_priority(state.urgency, state.impact, state.critical)
        if raised is not None:
            urgency, impact, critical = raised
            changed = {
                "urgency": urgency,
                "impact": impact,
                "critical": critical,
                "priority": priority_for(urgency, impact, critical),
                "previous_priority": state.priority,
            }
            events.append(NewEvent(PRIORITY_CHANGED, changed, {}))
    return events


def raised_priority(urgency: str, impact: str, critical: bool) -> tuple[str, str, bool] | None:
    """(urgency, impact, critical) one priority step up, changing as little as it can: the
    urgency first, then the impact, then both; `critical` above high; None when critical."""
    if critical:
        return None
    current = PRIORITIES.index(priority_for(urgency, impact))
    up = {level: LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)] for level in LEVELS}
    for candidate in ((up[urgency], impact), (urgency, up[impact]), (up[urgency], up[impact])):
        if PRIORITIES.index(priority_for(*candidate)) > current:
            return (*candidate, False)
    return urgency, impact, True


FILE_NAME_MAX = 255


def _add_attachment(state: Ticket, cmd: AddAttachment, now: datetime) -> list[NewEvent]:
    """A file on the ticket, or on one of its comments: by whoever may comment on it (a
    requester only on a public comment); its name is the uploader's personal data."""
    actor = cmd.actor
    require_participant(state, actor, "attach files to a ticket")
    _require_open(state)
    attachment_id = clean_id("attachment_id", cmd.attachment_id)
    name = clean_text("file_name", cmd.file_name, required=True)
    if len(name) > FILE_NAME_MAX or any(ord(ch) < 32 for ch in name):
        raise ValidationFailed(
            "file_name", f"must be at most {FILE_NAME_MAX} characters, none of them controls"
        )
    comment_id, internal = None, False
    if cmd.comment_id is not None:
        comment_id = clean_id("comment_id", cmd.comment_id)
        comment = state.comment(comment_id)
        # an internal comment is, to a requester, a comment that does not exist
        if comment is None or (comment.internal and not actor.is_privileged):
            raise ValidationFailed("comment_id", "no such comment on this ticket")
        internal = comment.internal
    clean_choice("scan", cmd.scan, SCAN_VERDICTS)
    if not isinstance(cmd.size, int) or cmd.size < 0:
        raise ValidationFailed("size", "must be a whole number of bytes")
    data = {
        "attachment_id": attachment_id,
        "comment_id": comment_id,
        "internal": internal,
        "size": cmd.size,
        "content_type": cmd.content_type,
        "scan": cmd.scan,
    }
    return [NewEvent(ATTACHMENT_ADDED, data, {"file_name": pii_value(actor.user_id, name)})]


def _remove_attachment(state: Ticket, cmd: RemoveAttachment, now: datetime) -> list[NewEvent]:
    actor = cmd.actor
    if not (actor.is_privileged or actor.user_id == cmd.uploaded_by):
        raise NotPermitted("only the uploader, agents and admins may remove a file")
    attachment_id = clean_id("attachment_id", cmd.attachment_id)
    pii = {"file_name": pii_value(cmd.uploaded_by, cmd.file_name)} if cmd.file_name else {}
    return [NewEvent(ATTACHMENT_REMOVED, {"attachment_id": attachment_id}, pii)]


_HANDLERS: dict[type, Callable[[Ticket, object, datetime], list[NewEvent]]] = {
    UpdateTicket: _update,
    SetPriority: _set_priority,
    Transition: _transition,
    AddComment: _add_comment,
    EditComment: _edit_comment,
    RectifyPersonalText: _rectify,
    AssignTicket: _assign,
    AddWatcher: _add_watcher,
    RemoveWatcher: _remove_watcher,
    ChangeWatchers: _change_watchers,
    TagTicket: _tag,
    LinkTicket: links.decide_link,
    UnlinkTicket: links.decide_unlink,
    ResolveWithParent: _resolve_with_parent,
    RecordSlaAlert: _record_sla_alert,
    RouteTicket: decide_route,
    ReleaseAssignment: decide_release,
    ApplyTriage: decide_triage,
    RecordSlaEscalation: _record_sla_escalation,
    AddAttachment: _add_attachment,
    RemoveAttachment: _remove_attachment,
    **approvals.HANDLERS,
}
