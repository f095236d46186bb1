"""Groups (teams of agents): each group its own stream of facts, and the rule tickets follow.

    decide_group(state, command, members) -> [NewEvent]   admins shape groups; raises
    evolve_group(state, event) -> Group                    folds one RecordedEvent
    check_assignment(command, groups)                       a ticket's group and its assignee

Rules:
- Only admins create, rename and staff groups; the system (never a token) also removes members.
- A member of a group is an agent or admin of the tenant (`members`: the service's projection of
  identity's members, user id -> roles); adding one twice or removing a non-member changes
  nothing (a retried command).
- A member leaves a group when an admin removes them (`removed`), when they leave the tenant or
  lose every staff role (`left_tenant`), or when they are erased (`erased`): one
  `group_member_removed` event with that reason. Their open assignments are then released
  (routing.ReleaseAssignment), so the tickets show unassigned in the group's queue.
- A ticket's `group_id` names an existing group of the tenant; when the ticket has a group, its
  assignee must be a member of it (`groups`: group id -> member ids, looked up by the service
  for the groups a command names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import NotPermitted, TicketingError, ValidationFailed
from .model import STAFF_ROLES, Actor, NewEvent, RecordedEvent
from .validation import clean_id, clean_optional_id

GROUP_CREATED = "group_created"
GROUP_UPDATED = "group_updated"
GROUP_MEMBER_ADDED = "group_member_added"
GROUP_MEMBER_REMOVED = "group_member_removed"
GROUP_EVENT_TYPES = frozenset(
    {GROUP_CREATED, GROUP_UPDATED, GROUP_MEMBER_ADDED, GROUP_MEMBER_REMOVED}
)

REMOVED, LEFT_TENANT, ERASED_MEMBER = "removed", "left_tenant", "erased"
LEAVE_REASONS = (REMOVED, LEFT_TENANT, ERASED_MEMBER)
NAME_MAX, DESCRIPTION_MAX, MEMBERS_MAX = 100, 500, 500


@dataclass(frozen=True)
class Group:
    group_id: str
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime
    members: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class CreateGroup:
    actor: Actor
    group_id: str
    name: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class UpdateGroup:
    """`None` leaves a field unchanged."""

    actor: Actor
    name: str | None = None
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddGroupMember:
    actor: Actor
    user_id: str


@dataclass(frozen=True, kw_only=True)
class RemoveGroupMember:
    """`reason`: one of LEAVE_REASONS; only the system gives another than `removed`."""

    actor: Actor
    user_id: str
    reason: str = REMOVED


def group_stream(group_id: str) -> str:
    return f"group-{group_id}"


def _require_admin(actor: Actor, action: str) -> None:
    if "admin" not in actor.roles and not actor.is_system:
        raise NotPermitted(f"only admins may {action}")


def _clean_label(field: str, value: object, limit: int, *, required: bool) -> str:
    """A group's name or description: public text of the organization, on one line."""
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be text")
    text = " ".join(value.split())
    if required and not text:
        raise ValidationFailed(field, "must not be empty")
    if len(text) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    return text


def decide_group(
    state: Group | None,
    command: object,
    members: Mapping[str, frozenset[str]] | None = None,
) -> list[NewEvent]:
    """The events of a group command; `members` (user id -> roles) must hold the user an
    AddGroupMember names (None skips that check: pure tests of other rules)."""
    actor: Actor = command.actor  # type: ignore[attr-defined]
    if isinstance(command, CreateGroup):
        _require_admin(actor, "create groups")
        if state is not None:
            raise ValidationFailed("group_id", "this group exists already")
        data = {
            "group_id": clean_id("group_id", command.group_id),
            "name": _clean_label("name", command.name, NAME_MAX, required=True),
            "description": _clean_label(
                "description", command.description, DESCRIPTION_MAX, required=False
            ),
        }
        return [NewEvent(GROUP_CREATED, data, {})]
    if state is None:
        raise GroupNotFound()
    if isinstance(command, UpdateGroup):
        _require_admin(actor, "change groups")
        changes = {}
        if command.name is not None:
            name = _clean_label("name", command.name, NAME_MAX, required=True)
            if name != state.name:
                changes["name"] = name
        if command.description is not None:
            text = _clean_label("description", command.description, DESCRIPTION_MAX, required=False)
            if text != state.description:
                changes["description"] = text
        return (
            [NewEvent(GROUP_UPDATED, {"fields": sorted(changes), **changes}, {})] if changes else []
        )
    if isinstance(command, AddGroupMember):
        _require_admin(actor, "change a group's members")
        user_id = clean_id("user_id", command.user_id)
        if members is not None and not members.get(user_id, frozenset()) & STAFF_ROLES:
            raise ValidationFailed("user_id", "must name an agent or admin of this tenant")
        if user_id in state.members:
            return []
        if len(state.members) >= MEMBERS_MAX:
            raise ValidationFailed("user_id", f"a group has at most {MEMBERS_MAX} members")
        return [NewEvent(GROUP_MEMBER_ADDED, {"group_id": state.group_id, "user_id": user_id}, {})]
    if isinstance(command, RemoveGroupMember):
        _require_admin(actor, "change a group's members")
        if command.reason not in LEAVE_REASONS:
            raise ValidationFailed("reason", f"must be one of {', '.join(LEAVE_REASONS)}")
        if command.reason != REMOVED and not actor.is_system:
            raise NotPermitted("only the service records that a member left or was erased")
        user_id = clean_id("user_id", command.user_id)
        if user_id not in state.members:
            return []
        data = {"group_id": state.group_id, "user_id": user_id, "reason": command.reason}
        return [NewEvent(GROUP_MEMBER_REMOVED, data, {})]
    raise TypeError(f"not a group command: {type(command).__name__}")


def evolve_group(state: Group | None, event: RecordedEvent) -> Group:
    data = event.data
    if event.type == GROUP_CREATED:
        if state is not None:
            raise TicketingError(f"group {state.group_id} was created twice")
        return Group(
            group_id=data["group_id"],
            name=data["name"],
            description=data.get("description", ""),
            version=event.version,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
        )
    if state is None:
        raise TicketingError(f"a group stream cannot start with {event.type}")
    if event.type == GROUP_UPDATED:
        state = replace(state, **{k: data[k] for k in ("name", "description") if k in data})
    elif event.type == GROUP_MEMBER_ADDED:
        state = replace(state, members=state.members | {data["user_id"]})
    elif event.type == GROUP_MEMBER_REMOVED:
        state = replace(state, members=state.members - {data["user_id"]})
    return replace(state, version=event.version, updated_at=event.occurred_at)


def replay_group(events: Iterable[RecordedEvent]) -> Group | None:
    state = None
    for event in events:
        state = evolve_group(state, event)
    return state


class GroupNotFound(TicketingError):
    def __init__(self):
        super().__init__("group not found")


def named_groups(command: object) -> frozenset[str]:
    """The canonical ids of the groups a ticket command would set (malformed ones left out:
    `check_assignment` refuses them)."""
    group_id = getattr(command, "group_id", None)
    if group_id is None or not hasattr(command, "assignee_id"):
        return frozenset()
    try:
        return frozenset({clean_id("group_id", group_id)})
    except ValidationFailed:
        return frozenset()


def check_assignment(command: object, groups: Mapping[str, frozenset[str]]) -> None:
    """ValidationFailed unless the command's group exists (is in `groups`) and its assignee,
    if any, is a member of that group. Commands without a group to set pass."""
    if not hasattr(command, "assignee_id") or not hasattr(command, "group_id"):
        return
    group_id = clean_optional_id("group_id", command.group_id)
    if group_id is None:
        return
    if group_id not in groups:
        raise ValidationFailed("group_id", "must name a group of this tenant")
    assignee_id = clean_optional_id("assignee_id", command.assignee_id)
    if assignee_id is not None and assignee_id not in groups[group_id]:
        raise ValidationFailed("assignee_id", "must be an agent of the ticket's group")
