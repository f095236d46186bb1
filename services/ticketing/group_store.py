"""SQL of groups, their round-robin cursors, the routing rules and the queues."""

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.ticketing.domain import ACTIVE
from services.ticketing.store import TICKET_COLUMNS

GROUP_COLUMNS = (
    "group_id",
    "name",
    "description",
    "members",
    "version",
    "created_at",
    "updated_at",
)
_SELECT_GROUP = "SELECT " + ", ".join(GROUP_COLUMNS) + " FROM groups"
_ACTIVE = sorted(ACTIVE)


def _rows(conn, query, params=()):
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


# groups


def upsert_group(conn, tenant_id, group):
    conn.execute(
        "INSERT INTO groups (tenant_id, group_id, name, description, members, version,"
        " created_at, updated_at) VALUES (%s, %s, %s, %s, %s::uuid[], %s, %s, %s)"
        " ON CONFLICT (tenant_id, group_id) DO UPDATE SET name = excluded.name,"
        " description = excluded.description, members = excluded.members,"
        " version = excluded.version, updated_at = excluded.updated_at",
        (
            tenant_id,
            group.group_id,
            group.name,
            group.description,
            sorted(group.members),
            group.version,
            group.created_at,
            group.updated_at,
        ),
    )


def get_group(conn, group_id):
    rows = _rows(conn, _SELECT_GROUP + " WHERE group_id = %s", (group_id,))
    return rows[0] if rows else None


def list_groups(conn, limit, after=None, member=None):
    """Oldest first; `after`: the (created_at, group_id) of the previous page's last item."""
    clauses, params = [], []
    if member is not None:
        clauses.append("%s::uuid = ANY(members)")
        params.append(member)
    if after is not None:
        clauses.append("(created_at, group_id) > (%s::timestamptz, %s::uuid)")
        params += list(after)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return _rows(
        conn,
        _SELECT_GROUP + where + " ORDER BY created_at, group_id LIMIT %s",
        (*params, limit + 1),
    )


def name_taken(conn, name, other_than=None):
    row = conn.execute(
        "SELECT 1 FROM groups WHERE lower(name) = lower(%s)"
        " AND group_id IS DISTINCT FROM %s::uuid LIMIT 1",
        (name, other_than),
    ).fetchone()
    return row is not None


def members_of(conn, group_ids):
    """{group id: member ids} of the groups that exist among `group_ids`."""
    if not group_ids:
        return {}
    rows = conn.execute(
        "SELECT group_id::text, members::text[] FROM groups WHERE group_id = ANY(%s::uuid[])",
        (sorted(group_ids),),
    ).fetchall()
    return {group_id: frozenset(members) for group_id, members in rows}


def groups_with_member(conn, user_id):
    rows = conn.execute(
        "SELECT group_id::text FROM groups WHERE %s::uuid = ANY(members) ORDER BY group_id",
        (user_id,),
    ).fetchall()
    return [row[0] for row in rows]


def group_streams(conn):
    rows = conn.execute(
        "SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE 'group-%' ORDER BY stream_id"
    )
    return [row[0] for row in rows.fetchall()]


def clear_groups(conn):
    conn.execute("DELETE FROM groups")


# assignments


def open_assignments(conn, user_id, group_id=None):
    """Ids of the tickets not closed or cancelled assigned to the user (in the group, if given)."""
    query = (
        "SELECT ticket_id::text FROM tickets WHERE assignee_id = %s"
        " AND status NOT IN ('closed', 'cancelled')"
    )
    params = [user_id]
    if group_id is not None:
        query += " AND group_id = %s"
        params.append(group_id)
    return [row[0] for row in conn.execute(query + " ORDER BY ticket_id", params).fetchall()]


def loads(conn, user_ids):
    """{user id: how many active tickets are assigned to them} (absent: none)."""
    if not user_ids:
        return {}
    rows = conn.execute(
        "SELECT assignee_id, count(*) FROM tickets WHERE assignee_id = ANY(%s)"
        " AND status = ANY(%s) GROUP BY assignee_id",
        (sorted(user_ids), _ACTIVE),
    ).fetchall()
    return dict(rows)


def lock_cursor(conn, tenant_id, group_id):
    """The member the group's round robin picked last, the row locked to the end of the
    transaction (concurrent routings to one group take turns)."""
    conn.execute(
        "INSERT INTO group_cursors (tenant_id, group_id) VALUES (%s, %s)"
        " ON CONFLICT (tenant_id, group_id) DO NOTHING",
        (tenant_id, group_id),
    )
    row = conn.execute(
        "SELECT last_member_id::text FROM group_cursors WHERE group_id = %s FOR UPDATE",
        (group_id,),
    ).fetchone()
    return row[0] if row else None


def set_cursor(conn, group_id, member_id):
    conn.execute(
        "UPDATE group_cursors SET last_member_id = %s WHERE group_id = %s", (member_id, group_id)
    )


# routing rules


def load_rules(conn):
    """(rules document, version) of the tenant's routing rules, or None when never set."""
    row = conn.execute("SELECT rules, version FROM routing_rules").fetchone()
    return (row[0], row[1]) if row else None


def save_rules(conn, tenant_id, document, version):
    conn.execute(
        "INSERT INTO routing_rules (tenant_id, rules, version) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules,"
        " version = excluded.version, updated_at = now()",
        (tenant_id, Jsonb(document), version),
    )


# queues

_SELECT_QUEUE = (
    "SELECT " + ", ".join(TICKET_COLUMNS) + ", queue_due, priority_rank FROM tickets"
    " WHERE status = ANY(%s)"
)


def queue(conn, filters, limit, after=None, *, group_id=None, assignee_id=None):
    """Active tickets of a group or an assignee: earliest running SLA deadline first (none:
    last), then priority, then id; `after`: the (queue_due, priority_rank, ticket_id) of the
    previous page's last item."""
    statuses = [filters["status"]] if filters.get("status") else _ACTIVE
    clauses, params = [], [statuses]
    if group_id is not None:
        clauses.append("group_id = %s")
        params.append(group_id)
    if assignee_id is not None:
        clauses.append("assignee_id = %s")
        params.append(assignee_id)
    for key in ("type", "priority"):
        if filters.get(key) is not None:
            clauses.append(f"{key} = %s")
            params.append(filters[key])
    if filters.get("assigned") is True:
        clauses.append("assignee_id IS NOT NULL")
    elif filters.get("assigned") is False:
        clauses.append("assignee_id IS NULL")
    if after is not None:
        clauses.append("(queue_due, priority_rank, ticket_id) > (%s::timestamptz, %s, %s::uuid)")
        params += list(after)
    where = "".join(" AND " + clause for clause in clauses)
    return _rows(
        conn,
        _SELECT_QUEUE + where + " ORDER BY queue_due, priority_rank, ticket_id LIMIT %s",
        (*params, limit + 1),
    )
