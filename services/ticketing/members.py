"""Ticketing's projection of identity's members (who may be named on a ticket), and its SQL.

Kept by identity's `user_joined`, `member_roles_changed` and `member_erased` events, so that a
command naming people is checked locally, with no call to identity on the hot path. Each row
keeps the identity tenant stream version it reflects: events arriving out of order (retries,
separate queues) never bring an older state back.
"""

import uuid

from services.ticketing.domain import named_people

_APPLY = """
INSERT INTO members (tenant_id, user_id, roles, version) VALUES (%s, %s, %s, %s)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET roles = excluded.roles, version = excluded.version
WHERE members.version < excluded.version
"""


def apply(conn, event):
    """Fold one identity membership event into the projection (erased: no roles left)."""
    roles = [] if event.name == "member_erased" else sorted(event.data["roles"])
    conn.execute(_APPLY, (event.tenant_id, event.data["user_id"], roles, event.stream_version or 0))


def roles_of(conn, commands):
    """{user id: roles} of current members among the people `commands` name (one query)."""
    ids = {
        found
        for command in commands
        for named in named_people(command).values()
        for value in named
        if (found := _uuid(value))
    }
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT user_id::text, roles FROM members WHERE user_id = ANY(%s::uuid[])"
        " AND roles <> '{}'",
        (sorted(ids),),
    ).fetchall()
    return {user_id: frozenset(roles) for user_id, roles in rows}


def _uuid(value):
    """The canonical spelling of an id, or None for what is no UUID (decide refuses it)."""
    try:
        return str(uuid.UUID(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None
