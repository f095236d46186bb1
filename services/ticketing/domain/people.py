"""The people a command names: each must be a member of the ticket's tenant (an assignee: staff).

The service hands `decide` the members it knows (a projection of identity's events, user id ->
roles); the caller's own id needs no look-up, their access token vouches for it. Removing a
watcher needs no membership: an erased member must still be removable.
"""

from __future__ import annotations

from collections.abc import Mapping

from .commands import AddWatcher, AssignTicket, ChangeWatchers, OpenTicket
from .errors import ValidationFailed
from .model import STAFF_ROLES, Actor


def named_people(command: object) -> dict[str, frozenset[str]]:
    """{field: ids} of the people `command` would give a role on a ticket (ids as sent)."""
    if isinstance(command, OpenTicket):
        named = {"watchers": frozenset(command.watchers)}
        if command.requester_id is not None:
            named["requester_id"] = frozenset({command.requester_id})
        return named
    if isinstance(command, AssignTicket):
        return {"assignee_id": frozenset({command.assignee_id} - {None})}
    if isinstance(command, ChangeWatchers):
        return {"watchers": frozenset(command.add)}
    if isinstance(command, AddWatcher):
        return {"watchers": frozenset({command.user_id})}
    return {}


def require_members(
    actor: Actor, field: str, ids: frozenset[str], members: Mapping[str, frozenset[str]]
) -> None:
    """ValidationFailed naming `field` unless each id is a member (for assignee_id: staff)."""
    for user_id in ids:
        roles = actor.roles if user_id == actor.user_id else members.get(user_id)
        if roles is None:
            raise ValidationFailed(field, "must name members of this tenant")
        if field == "assignee_id" and not roles & STAFF_ROLES:
            raise ValidationFailed(field, "must name an agent or admin of this tenant")
