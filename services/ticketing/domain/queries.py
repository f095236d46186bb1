"""Read-side questions about a ticket that carry business rules: what an actor sees, what must
follow."""

from __future__ import annotations

from . import lifecycle as lc
from .links import CHILD_OF, PARENT_OF
from .model import Actor, Comment, Ticket


def visible_comments(state: Ticket, actor: Actor) -> list[Comment]:
    """The comments `actor` may read, oldest first: internal ones only for agents, admins and
    system.

    Callers check `can_view(state, actor)` first; this only filters within a visible ticket.
    """
    return [c for c in state.comments if actor.is_privileged or not c.internal]


def children_to_resolve(state: Ticket) -> list[str]:
    """The child tickets a process manager must resolve because this parent is closed.

    Closing a parent resolves its children. The domain cannot touch other streams, so on every
    `status_changed` event to `closed` the service sends `ResolveWithParent(parent_id=<this id>)`
    with a system actor to each id returned here. The parent does not know its children's
    statuses; the child's decide makes the command a no-op when the child is no longer active or
    no longer a child of this parent, so running the process manager twice is harmless.
    """
    if state.status != lc.CLOSED:
        return []
    return state.linked(PARENT_OF)


def parent_of(state: Ticket) -> str | None:
    parents = state.linked(CHILD_OF)
    return parents[0] if parents else None
