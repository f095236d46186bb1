"""Read models kept by events: a ticket's rows (and report facts) after its appends, and
identity's members.

The members projection (who may be named on a ticket) is kept by identity's `user_joined`,
`member_roles_changed` and `member_erased` events, so that a command naming people is checked
locally, with no call to identity on the hot path. Each row keeps the identity tenant stream
version it reflects: events arriving out of order (retries, separate queues) never bring an
older state back.
"""

import uuid

from services.ticketing import reports, store
from services.ticketing.domain import ERASED, named_people
from services.ticketing.domain.approvals import approval_view
from services.ticketing.domain.fields import field_people
from services.ticketing.domain.model import ATTACHMENT_ADDED, ATTACHMENT_REMOVED
from services.ticketing.sla import next_sla_timers, sla_status

# tickets


def sla_instants(policy, history, now, status=None):
    """The read model's SLA columns: each target's deadline and the next alert to record
    (`status`: the `sla_status` at `now`, when the caller has it already)."""
    status = status or sla_status(policy, history, now)
    timers = next_sla_timers(policy, history, now, status)
    return {
        "sla_first_response_due": status["first_response"]["due_at"],
        "sla_resolution_due": status["resolution"]["due_at"],
        "sla_next_at": timers[0].at if timers else None,
        "sla_history": history.to_json(),
    }


def ticket_row(state, sla):
    """The read-model row of a ticket's state (`sla`: its `sla_instants`), column for column
    as `store.get_ticket` reads it back."""
    return {
        "ticket_id": state.ticket_id,
        "type": state.type,
        "status": state.status,
        "pending_reason": state.pending_reason,
        "priority": state.priority,
        "urgency": state.urgency,
        "impact": state.impact,
        "critical": state.critical,
        "category": state.category,
        "title": state.title,
        "description": state.description,
        "requester_id": state.requester_id,
        "opened_by": state.opened_by,
        "assignee_id": state.assignee_id,
        "group_id": state.group_id,
        "watchers": sorted(state.watchers),
        "tags": sorted(state.tags),
        "links": [{"kind": link.kind, "ticket_id": link.ticket_id} for link in sorted(state.links)],
        "opened_at": state.opened_at,
        "updated_at": state.updated_at,
        "first_responded_at": state.first_responded_at,
        "resolved_at": state.resolved_at,
        "closed_at": state.closed_at,
        "cancelled_at": state.cancelled_at,
        "reopen_count": state.reopen_count,
        **sla,
        "version": state.version,
        "fields": {k: v for k, v in state.fields.items() if k not in state.sealed_fields},
        "personal_fields": {k: v for k, v in state.fields.items() if k in state.sealed_fields},
        "external_id": state.external_id,
        "change": change_view(state),
    }


def change_view(state):
    """A change's planned window, risk and approval as the read model keeps them (JSON), or
    None for a ticket with none of them."""
    if not (state.approval_stages or state.planned_start or state.planned_end or state.risk):
        return None
    return {
        "planned_start": state.planned_start.isoformat() if state.planned_start else None,
        "planned_end": state.planned_end.isoformat() if state.planned_end else None,
        "risk": state.risk,
        "approval": approval_view(state),
    }


def project_ticket(conn, tenant_id, state, sla, comment_ids=None):
    """Bring the ticket's rows up to its state (`sla`: its `sla_instants`); comments: those
    named, or all when None. Returns (the row written, the cursor of the stored SLA policy's
    version: `store.upsert_ticket`)."""
    row = ticket_row(state, sla)
    policy_version = store.upsert_ticket(conn, tenant_id, row)
    comments = [c for c in state.comments if comment_ids is None or c.comment_id in comment_ids]
    if comments:
        store.upsert_comments(conn, tenant_id, state.ticket_id, comments)
    return row, policy_version


def project_report_facts(conn, tenant_id, state, policy, history, now, status=None):
    """Bring the ticket's report facts up to its state, its SLA judged under `policy`
    (`status`: the `sla_status` at `now`, when the caller has it already)."""
    facts = reports.ticket_facts(state, policy, history, now, status)
    store.upsert_report_facts(conn, tenant_id, facts)


def attachment_row(ticket_id, event):
    """The read-model row of a file from its `attachment_added` event (RecordedEvent)."""
    data = event.data
    return {
        "ticket_id": ticket_id,
        "attachment_id": data["attachment_id"],
        "comment_id": data.get("comment_id"),
        "internal": bool(data.get("internal")),
        "uploaded_by": event.actor_id,
        "file_name": event.pii.get("file_name", ERASED),
        "size": data["size"],
        "content_type": data["content_type"],
        "scan": data["scan"],
        "created_at": event.occurred_at,
    }


def attachment_rows(ticket_id, events):
    """The rows of the files a ticket's stream still holds; a file whose name opens as erased
    is gone with its uploader (the purge deleted its blob)."""
    rows = {}
    for event in events:
        if event.type == ATTACHMENT_ADDED and event.pii.get("file_name", ERASED) != ERASED:
            rows[event.data["attachment_id"]] = attachment_row(ticket_id, event)
        elif event.type == ATTACHMENT_REMOVED:
            rows.pop(event.data["attachment_id"], None)
    return list(rows.values())


# identity's members


def apply_member_event(conn, event):
    """Fold one identity membership event into the projection (erased: no roles left)."""
    roles = [] if event.name == "member_erased" else sorted(event.data["roles"])
    store.upsert_member(
        conn, event.tenant_id, event.data["user_id"], roles, event.stream_version or 0
    )


def roles_of(conn, commands):
    """{user id: roles} of current members among the people `commands` name (one query)."""
    ids = {
        found
        for command in commands
        for named in named_people(command).values()
        for value in named
        if (found := _uuid(value))
    }
    # candidates for user fields: any id among field values
    ids |= {
        found for command in commands for value in field_people(command) if (found := _uuid(value))
    }
    return store.member_roles(conn, ids) if ids else {}


def _uuid(value):
    """The canonical spelling of an id, or None for what is no UUID (decide refuses it)."""
    try:
        return str(uuid.UUID(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None
