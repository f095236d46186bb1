"""What the HTTP API shows: tickets, comments, SLA clocks and history entries, filtered per caller."""

from services.ticketing.codec import iso
from services.ticketing.domain import ALLOWED, ERASED
from services.ticketing.domain.model import COMMENT_ADDED, COMMENT_EDITED

_INSTANTS = (
    "opened_at",
    "updated_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "cancelled_at",
    "sla_first_response_due",
    "sla_resolution_due",
)


def ticket_summary(row):
    """A list item: the read-model row without the description's full text."""
    body = {
        key: iso(row[key]) if key in _INSTANTS else row[key]
        for key in row
        if key not in ("ticket_id", "sla_next_at", "sla_history", "description")
    }
    body["id"] = str(row["ticket_id"])
    body["watchers"], body["tags"] = list(row["watchers"]), list(row["tags"])
    body["allowed_transitions"] = sorted(ALLOWED[row["status"]])
    return body


def ticket_detail(row, comments, sla):
    body = ticket_summary(row)
    body["description"] = row["description"]
    body["comments"] = [comment_view(c) for c in comments]
    body["sla"] = {target: clock_view(clock) for target, clock in sla.items()}
    return body


def comment_view(comment):
    return {
        "id": str(comment["comment_id"]),
        "author_id": comment["author_id"],
        "body": comment["body"],
        "public": not comment["internal"],
        "created_at": iso(comment["created_at"]),
        "edited_at": iso(comment["edited_at"]),
    }


def clock_view(clock):
    return {
        "target_minutes": clock["target_minutes"],
        "elapsed_seconds": round(clock["elapsed_seconds"], 3),
        "remaining_seconds": round(clock["remaining_seconds"], 3),
        "paused": clock["paused"],
        "stopped": clock["stopped"],
        "breached": clock["breached"],
        "warned": clock["warned"],
        "due_at": iso(clock["due_at"]),
        "met_at": iso(clock["met_at"]),
    }


def history(events, envelopes, privileged):
    """The stream as a timeline; internal comments (and their edits) only for staff."""
    internal = {
        e.data["comment_id"] for e in events if e.type == COMMENT_ADDED and e.data.get("internal")
    }
    entries = []
    for event, envelope in zip(events, envelopes):
        if (
            not privileged
            and event.type in (COMMENT_ADDED, COMMENT_EDITED)
            and event.data["comment_id"] in internal
        ):
            continue
        entries.append(
            {
                "version": event.version,
                "event_id": envelope.event_id,
                "type": envelope.event_type,
                "occurred_at": envelope.occurred_at,
                "actor": envelope.actor,
                "data": event.data,
                "fields": {name: value for name, value in event.pii.items()},
                "erased": sorted(n for n, v in event.pii.items() if v == ERASED),
            }
        )
    return entries
