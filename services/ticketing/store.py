"""SQL of ticketing's read models (tickets, comments, members, report facts) and SLA policies."""

import json
from datetime import datetime

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.ticketing.domain import ERASED

TICKET_COLUMNS = (
    "ticket_id",
    "type",
    "status",
    "pending_reason",
    "priority",
    "urgency",
    "impact",
    "critical",
    "category",
    "title",
    "description",
    "requester_id",
    "opened_by",
    "assignee_id",
    "group_id",
    "watchers",
    "tags",
    "links",
    "opened_at",
    "updated_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "cancelled_at",
    "reopen_count",
    "sla_first_response_due",
    "sla_resolution_due",
    "sla_next_at",
    "sla_history",
    "version",
    "fields",
    "personal_fields",
    "external_id",
    "change",
)
_SELECT_TICKET = "SELECT " + ", ".join(TICKET_COLUMNS) + " FROM tickets"
_UPSERT_TICKET = (
    "INSERT INTO tickets (tenant_id, "
    + ", ".join(TICKET_COLUMNS)
    + ") VALUES (%(tenant_id)s, "
    + ", ".join(f"%({c})s" for c in TICKET_COLUMNS)
    + ") ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
    # the policy the row's SLA instants must follow, read in the same statement: a process
    # that computed them from a policy it kept learns here that another process changed it
    + " RETURNING (SELECT coalesce(max(version), 0) FROM sla_policies)"
)


_UPSERT_COMMENT = (
    "INSERT INTO ticket_comments (tenant_id, ticket_id, comment_id, author_id, body,"
    " internal, created_at, edited_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (tenant_id, ticket_id, comment_id) DO UPDATE SET body = excluded.body,"
    " edited_at = excluded.edited_at"
)


def _rows(conn, query, params=()):
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def upsert_ticket(conn, tenant_id, row):
    """Write the ticket's row (`projections.ticket_row`); returns the cursor whose one row is
    the version of the tenant's stored SLA policy as this statement saw it (0: none stored,
    the default applies), to read once the statement ran (after a pipeline's sync)."""
    params = {
        **row,
        "tenant_id": tenant_id,
        "links": Jsonb(row["links"]),
        "sla_history": Jsonb(row["sla_history"]),
        "fields": Jsonb(row.get("fields") or {}),
        "personal_fields": Jsonb(row.get("personal_fields") or {}),
        "external_id": row.get("external_id"),
        "change": None if row["change"] is None else Jsonb(row["change"]),
    }
    return conn.execute(_UPSERT_TICKET, params)


def upsert_comments(conn, tenant_id, ticket_id, comments):
    with conn.cursor() as cur:
        cur.executemany(
            _UPSERT_COMMENT,
            [
                (
                    tenant_id,
                    ticket_id,
                    c.comment_id,
                    c.author_id,
                    c.body,
                    c.internal,
                    c.created_at,
                    c.edited_at,
                )
                for c in comments
            ],
        )


_UPSERT_TICKETS = (
    "INSERT INTO tickets (tenant_id, "
    + ", ".join(TICKET_COLUMNS)
    + ") SELECT %s, "
    + ", ".join(f"r.{c}" for c in TICKET_COLUMNS)
    + " FROM jsonb_populate_recordset(NULL::tickets, %s) AS r"
    + " ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
)
_COMMENT_COLUMNS = (
    "ticket_id",
    "comment_id",
    "author_id",
    "body",
    "internal",
    "created_at",
    "edited_at",
)
_UPSERT_COMMENTS = (
    "INSERT INTO ticket_comments (tenant_id, "
    + ", ".join(_COMMENT_COLUMNS)
    + ") SELECT %s, "
    + ", ".join(f"r.{c}" for c in _COMMENT_COLUMNS)
    + " FROM jsonb_populate_recordset(NULL::ticket_comments, %s) AS r"
    " ON CONFLICT (tenant_id, ticket_id, comment_id) DO UPDATE SET body = excluded.body,"
    " edited_at = excluded.edited_at"
)


def _json_of(value):
    return json.dumps(value, default=lambda v: v.isoformat(), separators=(",", ":"))


def upsert_tickets(conn, tenant_id, rows):
    """Write many tickets' rows (`projections.ticket_row`) in one statement."""
    conn.execute(_UPSERT_TICKETS, (tenant_id, Jsonb(rows, dumps=_json_of)))


def upsert_comments_of(conn, tenant_id, comments):
    """Write the comments of many tickets, (ticket id, Comment) pairs, in one statement."""
    if not comments:
        return
    rows = [
        {
            "ticket_id": ticket_id,
            "comment_id": c.comment_id,
            "author_id": c.author_id,
            "body": c.body,
            "internal": c.internal,
            "created_at": c.created_at,
            "edited_at": c.edited_at,
        }
        for ticket_id, c in comments
    ]
    conn.execute(_UPSERT_COMMENTS, (tenant_id, Jsonb(rows, dumps=_json_of)))


def policy_version(conn):
    """The cursor of the stored SLA policy's version (0: the default), to read once run."""
    return conn.execute("SELECT coalesce(max(version), 0) FROM sla_policies")


def set_sla_instants(conn, ticket_id, sla):
    conn.execute(
        "UPDATE tickets SET sla_first_response_due = %(sla_first_response_due)s,"
        " sla_resolution_due = %(sla_resolution_due)s, sla_next_at = %(sla_next_at)s,"
        " sla_history = %(sla_history)s WHERE ticket_id = %(ticket_id)s",
        {**sla, "sla_history": Jsonb(sla["sla_history"]), "ticket_id": ticket_id},
    )


def get_ticket(conn, ticket_id):
    rows = _rows(conn, _SELECT_TICKET + " WHERE ticket_id = %s", (ticket_id,))
    return rows[0] if rows else None


def comments_of(conn, ticket_id, include_internal):
    query = (
        "SELECT comment_id, author_id, body, internal, created_at, edited_at"
        " FROM ticket_comments WHERE ticket_id = %s"
    )
    if not include_internal:
        query += " AND NOT internal"
    return _rows(conn, query + " ORDER BY created_at, comment_id", (ticket_id,))


def comments_by_id(conn, ticket_id, comment_ids):
    """The named comments of a ticket (those that exist)."""
    if not comment_ids:
        return []
    return _rows(
        conn,
        "SELECT comment_id, author_id, body, internal, created_at, edited_at"
        " FROM ticket_comments WHERE ticket_id = %s AND comment_id = ANY(%s::uuid[])",
        (ticket_id, sorted(comment_ids)),
    )


def list_tickets(conn, filters, limit, after=None, visible_to=None):
    """Newest first; `after` is the (opened_at, ticket_id) of the previous page's last item.

    `visible_to` limits the list to tickets a requester may see: their own and those they watch.
    """
    clauses, params = [], []
    for key, column in (
        ("status", "status"),
        ("type", "type"),
        ("priority", "priority"),
        ("assignee", "assignee_id"),
        ("requester", "requester_id"),
        ("external_id", "external_id"),
    ):
        if filters.get(key) is not None:
            clauses.append(f"{column} = %s")
            params.append(filters[key])
    if filters.get("q"):
        clauses.append("search @@ websearch_to_tsquery('simple', %s)")
        params.append(filters["q"])
    if visible_to is not None:
        clauses.append("(requester_id = %s OR %s = ANY(watchers))")
        params += [visible_to, visible_to]
    if after is not None:
        clauses.append("(opened_at, ticket_id) < (%s::timestamptz, %s::uuid)")
        params += list(after)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return _rows(
        conn,
        _SELECT_TICKET + where + " ORDER BY opened_at DESC, ticket_id DESC LIMIT %s",
        (*params, limit + 1),
    )


def load_policies(conn):
    """(default policy document or None, ordered conditional documents, version) of the
    tenant's SLA policies; None when it never set any."""
    row = conn.execute("SELECT policy, policies, version FROM sla_policies").fetchone()
    return (row[0], row[1], row[2]) if row else None


def save_policy(conn, tenant_id, document, version):
    conn.execute(
        "INSERT INTO sla_policies (tenant_id, policy, version) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy,"
        " version = excluded.version, updated_at = now()",
        (tenant_id, Jsonb(document) if document is not None else None, version),
    )


def save_policies(conn, tenant_id, documents, version):
    conn.execute(
        "INSERT INTO sla_policies (tenant_id, policies, version) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET policies = excluded.policies,"
        " version = excluded.version, updated_at = now()",
        (tenant_id, Jsonb(documents), version),
    )


def recompute_sla_soon(conn, now):
    """Ask the SLA timer to recompute every running clock (after the policy changed)."""
    return conn.execute(
        "UPDATE tickets SET sla_next_at = %s WHERE status NOT IN ('closed', 'cancelled')", (now,)
    ).rowcount


def tickets_touching(conn, subject_id):
    rows = conn.execute(
        "SELECT ticket_id FROM tickets WHERE requester_id = %s UNION"
        " SELECT ticket_id FROM ticket_comments WHERE author_id = %s UNION"
        " SELECT ticket_id FROM ticket_attachments WHERE uploaded_by = %s",
        (subject_id, subject_id, subject_id),
    )
    return [str(row[0]) for row in rows.fetchall()]


def erase_subject_text(conn, subject_id):
    """Overwrite the subject's titles, descriptions and comment bodies; counts of rows changed.

    The text search vector is generated from title and description, so it follows."""
    descriptions = conn.execute(
        "UPDATE tickets SET title = %s, description = CASE WHEN description = '' THEN ''"
        " ELSE %s END WHERE requester_id = %s AND (title <> %s OR description NOT IN ('', %s))",
        (ERASED, ERASED, subject_id, ERASED, ERASED),
    ).rowcount
    comments = conn.execute(
        "UPDATE ticket_comments SET body = %s WHERE author_id = %s AND body <> %s",
        (ERASED, subject_id, ERASED),
    ).rowcount
    return {"ticket_descriptions": descriptions, "comments": comments}


def erase_subject_fields(conn, subject_id):
    """Overwrite every sealed custom field value of the subject's tickets; rows changed."""
    return conn.execute(
        "UPDATE tickets SET personal_fields = (SELECT jsonb_object_agg(key, %s::jsonb)"
        " FROM jsonb_each(personal_fields)) WHERE requester_id = %s"
        " AND EXISTS (SELECT 1 FROM jsonb_each(personal_fields) WHERE value <> %s::jsonb)",
        (Jsonb(ERASED), subject_id, Jsonb(ERASED)),
    ).rowcount


def ticket_by_external_id(conn, external_id):
    """The read-model row of the tenant's ticket with this external id, or None."""
    rows = _rows(conn, _SELECT_TICKET + " WHERE external_id = %s", (external_id,))
    return rows[0] if rows else None


def stream_version(conn, stream_id):
    """The cursor whose one row is the tenant's version of a stream (0: empty), to read once
    the statement ran (in a pipeline: after its sync)."""
    return conn.execute(
        "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = %s", (stream_id,)
    )


def field_definitions(conn):
    """The tenant's custom ticket field definitions as rows, by key."""
    return _rows(
        conn,
        "SELECT key, type, options, required_for, personal, version FROM ticket_fields"
        " ORDER BY key",
    )


def save_field_definition(conn, tenant_id, definition, version):
    conn.execute(
        "INSERT INTO ticket_fields (tenant_id, key, type, options, required_for, personal,"
        " version) VALUES (%(tenant_id)s, %(key)s, %(type)s, %(options)s, %(required_for)s,"
        " %(personal)s, %(version)s) ON CONFLICT (tenant_id, key) DO UPDATE SET"
        " type = excluded.type, options = excluded.options,"
        " required_for = excluded.required_for, personal = excluded.personal,"
        " version = excluded.version",
        {**definition, "tenant_id": tenant_id, "version": version},
    )


def delete_field_definition(conn, key):
    conn.execute("DELETE FROM ticket_fields WHERE key = %s", (key,))


def clear_field_definitions(conn):
    return conn.execute("DELETE FROM ticket_fields").rowcount


def subject_data(conn, subject_id):
    """What the read models hold about a subject: tickets they requested, comments they wrote."""
    tickets = _rows(
        conn,
        "SELECT ticket_id, type, status, title, description, personal_fields AS fields,"
        " opened_at, closed_at FROM tickets WHERE requester_id = %s ORDER BY opened_at",
        (subject_id,),
    )
    comments = _rows(
        conn,
        "SELECT ticket_id, comment_id, body, internal, created_at, edited_at"
        " FROM ticket_comments WHERE author_id = %s ORDER BY created_at",
        (subject_id,),
    )
    return tickets, comments


def clear_read_model(conn):
    """Empty the tenant's read models (RLS scopes the DELETEs to the unit's tenant)."""
    comments = conn.execute("DELETE FROM ticket_comments").rowcount
    conn.execute("DELETE FROM ticket_attachments")
    tickets = conn.execute("DELETE FROM tickets").rowcount
    clear_report_facts(conn)
    return tickets, comments


def drop_snapshots(conn, streams):
    conn.execute("DELETE FROM snapshots WHERE stream_id = ANY(%s)", (list(streams),))


def ticket_streams(conn):
    rows = conn.execute(
        "SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE 'ticket-%' ORDER BY stream_id"
    )
    return [row[0] for row in rows.fetchall()]


def due_tickets(conn, now, limit):
    """(tenant id, ticket id) of the tickets whose next SLA alert is due, soonest first.

    Cross-tenant by design, on the system role's connection: it reads only ids and instants
    of this table (GRANT)."""
    return conn.execute(
        "SELECT tenant_id::text, ticket_id::text FROM tickets WHERE sla_next_at <= %s"
        " ORDER BY sla_next_at LIMIT %s",
        (now, limit),
    ).fetchall()


def upsert_member(conn, tenant_id, user_id, roles, version):
    """A member's roles as of identity's stream `version`; an older version changes nothing."""
    conn.execute(
        "INSERT INTO members (tenant_id, user_id, roles, version) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET roles = excluded.roles,"
        " version = excluded.version WHERE members.version < excluded.version",
        (tenant_id, user_id, roles, version),
    )


def member_roles(conn, user_ids):
    """{user id: roles} of the current members (some role left) among `user_ids`."""
    rows = conn.execute(
        "SELECT user_id::text, roles FROM members WHERE user_id = ANY(%s::uuid[])"
        " AND roles <> '{}'",
        (sorted(user_ids),),
    ).fetchall()
    return {user_id: frozenset(roles) for user_id, roles in rows}


# change approvals


def load_approval_policies(conn):
    """(policies per ticket type, version) of the tenant's approval policy; ({}, 0) when none."""
    row = conn.execute("SELECT policies, version FROM approval_policies").fetchone()
    return (row[0], row[1]) if row else ({}, 0)


def save_approval_policies(conn, tenant_id, document, version):
    conn.execute(
        "INSERT INTO approval_policies (tenant_id, policies, version) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET policies = excluded.policies,"
        " version = excluded.version, updated_at = now()",
        (tenant_id, Jsonb(document), version),
    )


def imported(conn, external_ids):
    """{external id: ticket id} of the named tickets a bulk import brought in already."""
    rows = conn.execute(
        "SELECT external_id, ticket_id::text FROM ticket_imports WHERE external_id = ANY(%s)",
        (list(external_ids),),
    ).fetchall()
    return dict(rows)


def record_imports(conn, tenant_id, tickets):
    """Remember the (external id, ticket id) pairs a bulk import wrote; one statement."""
    conn.execute(
        "INSERT INTO ticket_imports (tenant_id, external_id, ticket_id)"
        " SELECT %s, e, t FROM unnest(%s::text[], %s::uuid[]) AS u(e, t)",
        (tenant_id, [e for e, _ in tickets], [t for _, t in tickets]),
    )


# report facts (services/ticketing/reports.py)

REPORT_FACT_COLUMNS = (
    "ticket_id",
    "type",
    "priority",
    "group_id",
    "category",
    "status",
    "opened_at",
    "first_responded_at",
    "resolved_at",
    "left_active_at",
    "statuses",
    "first_response_breached_at",
    "resolution_breached_at",
    "version",
)
_UPSERT_REPORT_FACTS = (
    "INSERT INTO ticket_report_facts (tenant_id, "
    + ", ".join(REPORT_FACT_COLUMNS)
    + ") VALUES (%(tenant_id)s, "
    + ", ".join(f"%({c})s" for c in REPORT_FACT_COLUMNS)
    + ") ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in REPORT_FACT_COLUMNS[1:])
)
# the facts a report over [from, to) can count (reports.py says what each counts)
_REPORT_WINDOWS = {
    "mttr": "resolved_at >= %(from)s AND resolved_at < %(to)s",
    "first-response": "first_responded_at >= %(from)s AND first_responded_at < %(to)s",
    "sla-compliance": " OR ".join(
        f"({column} >= %(from)s AND {column} < %(to)s)"
        for column in (
            "first_responded_at",
            "resolved_at",
            "first_response_breached_at",
            "resolution_breached_at",
        )
    ),
    # settled before the window: neither in its backlogs nor among its moves
    "backlog": "opened_at < %(to)s AND (left_active_at IS NULL OR left_active_at >= %(from)s)",
}


def upsert_report_facts(conn, tenant_id, facts):
    """Write a ticket's report facts (`reports.ticket_facts`)."""
    statuses = [[since.isoformat(), status] for since, status in facts["statuses"]]
    conn.execute(
        _UPSERT_REPORT_FACTS, {**facts, "tenant_id": tenant_id, "statuses": Jsonb(statuses)}
    )


def upsert_many_report_facts(conn, tenant_id, facts):
    """Write many tickets' report facts (`reports.ticket_facts`) in one statement."""
    if not facts:
        return
    rows = [
        {**f, "statuses": [[since.isoformat(), status] for since, status in f["statuses"]]}
        for f in facts
    ]
    conn.execute(
        "INSERT INTO ticket_report_facts (tenant_id, "
        + ", ".join(REPORT_FACT_COLUMNS)
        + ") SELECT %s, "
        + ", ".join(f"r.{c}" for c in REPORT_FACT_COLUMNS)
        + " FROM jsonb_populate_recordset(NULL::ticket_report_facts, %s) AS r"
        + " ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in REPORT_FACT_COLUMNS[1:]),
        (tenant_id, Jsonb(rows, dumps=_json_of)),
    )


def report_facts(conn, report, start, end):
    """The facts of the tickets report `report` may count over [start, end)."""
    rows = _rows(
        conn,
        "SELECT " + ", ".join(REPORT_FACT_COLUMNS) + " FROM ticket_report_facts WHERE "
        f"{_REPORT_WINDOWS[report]} ORDER BY opened_at, ticket_id",
        {"from": start, "to": end},
    )
    for row in rows:
        row["statuses"] = [
            (datetime.fromisoformat(since), status) for since, status in row["statuses"]
        ]
    return rows


def clear_report_facts(conn):
    return conn.execute("DELETE FROM ticket_report_facts").rowcount


# attachments

ATTACHMENT_COLUMNS = (
    "ticket_id",
    "attachment_id",
    "comment_id",
    "internal",
    "uploaded_by",
    "file_name",
    "size",
    "content_type",
    "scan",
    "created_at",
)
_SELECT_ATTACHMENT = "SELECT " + ", ".join(ATTACHMENT_COLUMNS) + " FROM ticket_attachments"


def insert_attachments(conn, tenant_id, rows):
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ticket_attachments (tenant_id, "
            + ", ".join(ATTACHMENT_COLUMNS)
            + ") VALUES (%(tenant_id)s, "
            + ", ".join(f"%({c})s" for c in ATTACHMENT_COLUMNS)
            + ") ON CONFLICT (tenant_id, attachment_id) DO NOTHING",
            [{**row, "tenant_id": tenant_id} for row in rows],
        )


def delete_attachment(conn, attachment_id):
    conn.execute("DELETE FROM ticket_attachments WHERE attachment_id = %s", (attachment_id,))


def attachments_of(conn, ticket_id, include_internal):
    query = _SELECT_ATTACHMENT + " WHERE ticket_id = %s"
    if not include_internal:
        query += " AND NOT internal"
    return _rows(conn, query + " ORDER BY created_at, attachment_id", (ticket_id,))


def get_attachment(conn, ticket_id, attachment_id):
    rows = _rows(
        conn,
        _SELECT_ATTACHMENT + " WHERE ticket_id = %s AND attachment_id = %s",
        (ticket_id, attachment_id),
    )
    return rows[0] if rows else None


def attachments_by(conn, subject_id):
    """The files a subject uploaded, oldest first."""
    return _rows(
        conn, _SELECT_ATTACHMENT + " WHERE uploaded_by = %s ORDER BY created_at", (subject_id,)
    )


def delete_attachments_by(conn, subject_id):
    return conn.execute(
        "DELETE FROM ticket_attachments WHERE uploaded_by = %s", (subject_id,)
    ).rowcount
