"""Who may act on a ticket: the business rules of access, shared by commands and queries.

- Agents and admins (staff) act on every ticket of their tenant; the system actor likewise.
- The requester acts on their own ticket only: comment publicly, edit title and description,
  manage its watchers, cancel, accept or reopen it (see lifecycle.REQUESTER_TRANSITIONS).
- Watchers may view a ticket (public comments only) and stop watching it; nothing else.
- Other roles (compliance_officer, privacy_officer) have no ticket rights of their own.
"""

from __future__ import annotations

from .errors import NotPermitted
from .model import Actor, Ticket


def is_requester(state: Ticket, actor: Actor) -> bool:
    return actor.user_id == state.requester_id


def can_view(state: Ticket, actor: Actor) -> bool:
    return actor.is_privileged or is_requester(state, actor) or actor.user_id in state.watchers


def require_privileged(actor: Actor, action: str) -> None:
    if not actor.is_privileged:
        raise NotPermitted(f"only agents and admins may {action}")


def require_participant(state: Ticket, actor: Actor, action: str) -> None:
    """Staff, system, or the ticket's own requester."""
    if not (actor.is_privileged or is_requester(state, actor)):
        raise NotPermitted(f"only agents, admins and the ticket's requester may {action}")


def counts_as_first_response(state: Ticket, actor: Actor) -> bool:
    """What counts as the first response (stamped on the event as data["first_response"]).

    The first public comment or status change made by an agent or admin who is not the ticket's
    own requester. Internal comments, assignment, and requester or system actions do not count.
    """
    return state.first_responded_at is None and actor.is_staff and not is_requester(state, actor)
