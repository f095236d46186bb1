"""Turns API documents (create body, PATCH body) into domain commands."""
from services.ticketing.domain import (
    AssignTicket, ChangeWatchers, OpenTicket, SetPriority, TagTicket, UpdateTicket)


def open_command(actor, ticket_id, body):
    return OpenTicket(
        actor=actor, ticket_id=ticket_id, type=body["type"], title=body["title"],
        description=body["description"], urgency=body["urgency"], impact=body["impact"],
        critical=body["critical"], category=body["category"], requester_id=_id(body["requester_id"]),
        watchers=frozenset(map(str, body["watchers"])), tags=frozenset(body["tags"]))


def _id(value):
    """A UUID the schema parsed, in its canonical spelling (None stays None)."""
    return None if value is None else str(value)


def patch_commands(state, actor, changes):
    """The commands a PATCH stands for, in a fixed order; fields absent from it stay as they are."""
    commands = []
    details = {key: changes[key] for key in ("title", "description", "type", "category")
               if key in changes}
    if details:
        commands.append(UpdateTicket(actor=actor, **details))
    priority = {key: changes[key] for key in ("urgency", "impact", "critical") if key in changes}
    if priority:
        commands.append(SetPriority(actor=actor, **priority))
    if "assignee_id" in changes or "group_id" in changes:
        commands.append(AssignTicket(
            actor=actor, assignee_id=_id(changes.get("assignee_id", state.assignee_id)),
            group_id=_id(changes.get("group_id", state.group_id))))
    if "tags" in changes:
        wanted = frozenset(tag.strip().lower() for tag in changes["tags"])
        if wanted != state.tags:
            commands.append(TagTicket(actor=actor, add=wanted - state.tags, remove=state.tags - wanted))
    if "watchers" in changes:
        wanted = frozenset(map(str, changes["watchers"]))
        if wanted != state.watchers:
            commands.append(ChangeWatchers(actor=actor, add=wanted - state.watchers,
                                           remove=state.watchers - wanted))
    return commands
