"""Read models kept by events: a ticket's rows after its appends, and identity's members.

The members projection (who may be named on a ticket) is kept by identity's `user_joined`,
`member_roles_changed` and `member_erased` events, so that a command naming people is checked
locally, with no call to identity on the hot path. Each row keeps the identity tenant stream
version it reflects: events arriving out of order (retries, separate queues) never bring an
older state back.
"""

import uuid

from services.ticketing import store
from services.ticketing.domain import named_people
from services.ticketing.sla import next_sla_timers, sla_status

# tickets


def sla_instants(policy, history, now):
    """The read model's SLA columns: each target's deadline and the next alert to record."""
    status = sla_status(policy, history, now)
    timers = next_sla_timers(policy, history, now)
    return {
        "sla_first_response_due": status["first_response"]["due_at"],
        "sla_resolution_due": status["resolution"]["due_at"],
        "sla_next_at": timers[0].at if timers else None,
        "sla_history": history.to_json(),
    }


def project_ticket(conn, tenant_id, state, sla, comment_ids=None):
    """Bring the ticket's rows up to its state (`sla`: its `sla_instants`); comments: those
    named, or all when None."""
    store.upsert_ticket(conn, tenant_id, state, sla)
    comments = [c for c in state.comments if comment_ids is None or c.comment_id in comment_ids]
    if comments:
        store.upsert_comments(conn, tenant_id, state.ticket_id, comments)


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
    return store.member_roles(conn, ids) if ids else {}


def _uuid(value):
    """The canonical spelling of an id, or None for what is no UUID (decide refuses it)."""
    try:
        return str(uuid.UUID(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None
