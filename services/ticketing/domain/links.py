"""Links between tickets, and how each one is mirrored on the other ticket's stream.

A link is recorded on both streams: the command's ticket gets `kind -> other`, the other ticket
gets `INVERSE[kind] -> this`. The domain never touches another stream, so the service's process
manager calls `mirror_command` for every `ticket_linked` / `ticket_unlinked` event and runs the
command it returns against the other ticket. Mirrored events carry `mirrored: true` and are not
mirrored back; re-linking an existing link is a no-op, so redelivery is harmless.

Rules: no self links; at most one parent (child_of) and one duplicate_of per ticket; a link and
its inverse to the same ticket contradict (A parent_of B and A child_of B). Links may be added
or removed whatever the status, since a closed ticket can still be the target of a duplicate.
"""

from __future__ import annotations

from datetime import datetime

from .commands import LinkTicket, UnlinkTicket
from .errors import ValidationFailed
from .model import TICKET_LINKED, TICKET_UNLINKED, Actor, Link, NewEvent, Ticket
from .permissions import require_privileged
from .validation import LINKS_MAX, clean_choice, clean_id

RELATES_TO, DUPLICATE_OF, DUPLICATED_BY, PARENT_OF, CHILD_OF = (
    "relates_to",
    "duplicate_of",
    "duplicated_by",
    "parent_of",
    "child_of",
)
INVERSE = {
    RELATES_TO: RELATES_TO,
    DUPLICATE_OF: DUPLICATED_BY,
    DUPLICATED_BY: DUPLICATE_OF,
    PARENT_OF: CHILD_OF,
    CHILD_OF: PARENT_OF,
}
LINK_KINDS = frozenset(INVERSE)
SINGLE_VALUED = frozenset({CHILD_OF, DUPLICATE_OF})


def decide_link(state: Ticket, cmd: LinkTicket, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "link tickets")
    kind = clean_choice("kind", cmd.kind, LINK_KINDS)
    other_id = clean_id("other_id", cmd.other_id)
    if other_id == state.ticket_id:
        raise ValidationFailed("other_id", "a ticket cannot be linked to itself")
    if Link(kind, other_id) in state.links:
        return []
    if kind in SINGLE_VALUED and state.linked(kind):
        raise ValidationFailed("kind", f"this ticket already has a {kind} link")
    if Link(INVERSE[kind], other_id) in state.links:
        raise ValidationFailed("kind", f"this ticket is already {INVERSE[kind]} {other_id}")
    if len(state.links) >= LINKS_MAX:
        raise ValidationFailed("links", f"at most {LINKS_MAX} per ticket")
    return [
        NewEvent(TICKET_LINKED, {"kind": kind, "other_id": other_id, "mirrored": cmd.mirrored}, {})
    ]


def decide_unlink(state: Ticket, cmd: UnlinkTicket, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "unlink tickets")
    kind = clean_choice("kind", cmd.kind, LINK_KINDS)
    other_id = clean_id("other_id", cmd.other_id)
    if Link(kind, other_id) not in state.links:
        return []
    return [
        NewEvent(
            TICKET_UNLINKED, {"kind": kind, "other_id": other_id, "mirrored": cmd.mirrored}, {}
        )
    ]


def mirror_command(
    ticket_id: str, event_type: str, data: dict, actor: Actor
) -> tuple[str, LinkTicket | UnlinkTicket] | None:
    """For a link event on `ticket_id`: (other ticket id, command to run there), or None.

    None for events that are not (un)link events and for events that are themselves mirrors.
    """
    if event_type not in (TICKET_LINKED, TICKET_UNLINKED) or data.get("mirrored"):
        return None
    command_type = LinkTicket if event_type == TICKET_LINKED else UnlinkTicket
    other_id = data["other_id"]
    return other_id, command_type(
        actor=actor, kind=INVERSE[data["kind"]], other_id=ticket_id, mirrored=True
    )
