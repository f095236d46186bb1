"""Turns API documents (create body, PATCH body) into domain commands."""

import uuid

from services.ticketing.domain import (
    AssignTicket,
    ChangeWatchers,
    OpenTicket,
    SetPriority,
    TagTicket,
    UpdateTicket,
)


def open_command(actor, ticket_id, body):
    return OpenTicket(
        actor=actor,
        ticket_id=ticket_id,
        type=body["type"],
        title=body["title"],
        description=body["description"],
        urgency=body["urgency"],
        impact=body["impact"],
        critical=body["critical"],
        category=body["category"],
        requester_id=body["requester_id"],
        watchers=frozenset(body["watchers"]),
        tags=frozenset(body["tags"]),
    )


def _canonical(value):
    """A UUID in its canonical spelling, so that a PATCH compares ids as the state holds them;
    anything else as sent (the domain refuses it, naming the field)."""
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        return value


def patch_commands(state, actor, changes):
    """The commands a PATCH stands for, in a fixed order; fields absent from it stay as they are."""
    commands = []
    details = {
        key: changes[key] for key in ("title", "description", "type", "category") if key in changes
    }
    if details:
        commands.append(UpdateTicket(actor=actor, **details))
    priority = {key: changes[key] for key in ("urgency", "impact", "critical") if key in changes}
    if priority:
        commands.append(SetPriority(actor=actor, **priority))
    if "assignee_id" in changes or "group_id" in changes:
        commands.append(
            AssignTicket(
                actor=actor,
                assignee_id=changes.get("assignee_id", state.assignee_id),
                group_id=changes.get("group_id", state.group_id),
            )
        )
    if "tags" in changes:
        wanted = frozenset(tag.strip().lower() for tag in changes["tags"])
        if wanted != state.tags:
            commands.append(
                TagTicket(actor=actor, add=wanted - state.tags, remove=state.tags - wanted)
            )
    if "watchers" in changes:
        wanted = frozenset(map(_canonical, changes["watchers"]))
        if wanted != state.watchers:
            commands.append(
                ChangeWatchers(
                    actor=actor, add=wanted - state.watchers, remove=state.watchers - wanted
                )
            )
    return commands
