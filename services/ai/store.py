"""SQL of the ai service: ticket documents, comments, people (text sealed), erasures, catch-up."""

from psycopg import sql
from psycopg.types.json import Jsonb

# Fields set last-writer-wins by stream version; the text ones hold sealed entries.
VERSIONED = ("title", "description", "category", "priority", "resolution")
SEALED = ("title", "description", "resolution")
# A row is settled once every transaction older than it has finished: nothing can commit
# behind it any more, so a reader's mark may move past it. Newer rows are read too (and
# again next time); rows of the reader's own unfinished transaction never are.
_CHANGES = (
    ", txid::text, revision, txid < pg_snapshot_xmin(pg_current_snapshot())"
    " FROM {table} WHERE (txid, revision) > (%s::xid8, %s)"
    " AND txid IS DISTINCT FROM pg_current_xact_id_if_assigned() ORDER BY txid, revision"
)


def _value(field, value):
    return Jsonb(value) if field in SEALED and value is not None else value


def record_ticket(
    conn, tenant_id, stream_id, version, *, ticket_id=None, requester_id=None, **fields
):
    """Upsert what an event says about a ticket; a field only moves forward in stream version."""
    unknown = set(fields) - set(VERSIONED)
    if unknown:
        raise ValueError(f"not a ticket document field: {sorted(unknown)}")
    columns = ["tenant_id", "stream_id", "ticket_id", "requester_id"]
    values = [tenant_id, stream_id, ticket_id, requester_id]
    updates = [
        sql.SQL("ticket_id = COALESCE(ai_tickets.ticket_id, EXCLUDED.ticket_id)"),
        sql.SQL("requester_id = COALESCE(ai_tickets.requester_id, EXCLUDED.requester_id)"),
        sql.SQL("txid = pg_current_xact_id(), revision = nextval('ai_revision')"),
    ]
    for field, value in fields.items():
        columns += [field, f"{field}_v"]
        values += [_value(field, value), version]
        name, stamp = sql.Identifier(field), sql.Identifier(f"{field}_v")
        updates.append(
            sql.SQL(
                "{name} = CASE WHEN EXCLUDED.{stamp} > ai_tickets.{stamp} THEN EXCLUDED.{name}"
                " ELSE ai_tickets.{name} END,"
                " {stamp} = GREATEST(EXCLUDED.{stamp}, ai_tickets.{stamp})"
            ).format(name=name, stamp=stamp)
        )
    statement = sql.SQL(
        "INSERT INTO ai_tickets ({columns}) VALUES ({values})"
        " ON CONFLICT (tenant_id, stream_id) DO UPDATE SET {updates}"
    ).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(values)),
        updates=sql.SQL(", ").join(updates),
    )
    conn.execute(statement, values)


def requester_of(conn, stream_id):
    row = conn.execute(
        "SELECT requester_id FROM ai_tickets WHERE stream_id = %s", (stream_id,)
    ).fetchone()
    return row[0] if row else None


def record_comment(conn, tenant_id, stream_id, version, comment_id, body, *, internal=None):
    """Upsert a comment's sealed body; ``internal`` is None for an edit (keeps what was added)."""
    conn.execute(
        "INSERT INTO ai_comments (tenant_id, stream_id, comment_id, author_id, internal, body,"
        " body_v, added_v) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, stream_id, comment_id) DO UPDATE SET"
        " body = CASE WHEN EXCLUDED.body_v > ai_comments.body_v THEN EXCLUDED.body"
        "   ELSE ai_comments.body END,"
        " body_v = GREATEST(EXCLUDED.body_v, ai_comments.body_v),"
        " internal = CASE WHEN %s THEN EXCLUDED.internal ELSE ai_comments.internal END,"
        " added_v = LEAST(EXCLUDED.added_v, ai_comments.added_v)",
        (
            tenant_id,
            stream_id,
            comment_id,
            body["s"],
            bool(internal),
            Jsonb(body),
            version,
            version if internal is not None else 2**31 - 1,
            internal is not None,
        ),
    )


def remember_person(conn, tenant_id, field, sealed):
    conn.execute(
        "INSERT INTO ai_people (tenant_id, subject_id, field, sealed) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, subject_id, field) DO UPDATE SET sealed = EXCLUDED.sealed",
        (tenant_id, sealed["s"], field, Jsonb(sealed)),
    )


def people(conn):
    """{subject_id: {field: sealed}} of the current tenant."""
    found = {}
    for subject_id, field, sealed in conn.execute(
        "SELECT subject_id, field, sealed FROM ai_people ORDER BY subject_id, field"
    ):
        found.setdefault(subject_id, {})[field] = sealed
    return found


_TICKET = (
    "SELECT stream_id, ticket_id, requester_id, title, description, category, priority,"
    " resolution FROM ai_tickets"
)


def ticket(conn, ticket_id):
    """The current tenant's ticket document as a dict, or None."""
    row = conn.execute(_TICKET + " WHERE ticket_id = %s", (ticket_id,)).fetchone()
    return _ticket(row) if row else None


def _ticket(row):
    keys = (
        "stream_id",
        "ticket_id",
        "requester_id",
        "title",
        "description",
        "category",
        "priority",
        "resolution",
    )
    return dict(zip(keys, row))


def comments(conn, stream_id):
    rows = conn.execute(
        "SELECT comment_id, author_id, internal, body FROM ai_comments WHERE stream_id = %s"
        " ORDER BY added_v, comment_id",
        (stream_id,),
    )
    return [dict(zip(("comment_id", "author_id", "internal", "body"), row)) for row in rows]


def changed_tickets(conn, after):
    """``(ticket, mark, settled)`` of committed documents changed after the ``(txid, revision)``
    mark."""
    rows = conn.execute(
        _TICKET.split(" FROM")[0] + _CHANGES.format(table="ai_tickets"), after
    ).fetchall()
    return [(_ticket(row[:-3]), (row[-3], row[-2]), row[-1]) for row in rows]


def changed_erasures(conn, after):
    """``(subject_id, mark, settled)`` of erasures recorded after the mark."""
    rows = conn.execute(
        "SELECT subject_id" + _CHANGES.format(table="ai_erasures"), after
    ).fetchall()
    return [(subject_id, (txid, revision), settled) for subject_id, txid, revision, settled in rows]


def subject_data(conn, subject_id):
    """Every row holding the subject's text: (tickets they requested, resolutions, comments,
    people)."""
    requested = [
        _ticket(row)
        for row in conn.execute(
            _TICKET + " WHERE requester_id = %s ORDER BY ticket_id", (subject_id,)
        )
    ]
    resolved = [
        _ticket(row)
        for row in conn.execute(
            _TICKET + " WHERE resolution->>'s' = %s AND requester_id IS DISTINCT FROM %s"
            " ORDER BY ticket_id",
            (subject_id, subject_id),
        )
    ]
    written = [
        dict(zip(("stream_id", "comment_id", "internal", "body"), row))
        for row in conn.execute(
            "SELECT stream_id, comment_id, internal, body FROM ai_comments WHERE author_id = %s"
            " ORDER BY stream_id, added_v",
            (subject_id,),
        )
    ]
    named = people(conn).get(subject_id, {})
    return requested, resolved, written, named


def purge_subject(conn, tenant_id, subject_id, request_id):
    """Delete the subject's text and record the erasure for every instance; counts per kind."""
    purged = {
        "tickets": conn.execute(
            "DELETE FROM ai_tickets WHERE requester_id = %s", (subject_id,)
        ).rowcount,
        "resolutions": conn.execute(
            "UPDATE ai_tickets SET resolution = NULL, txid = pg_current_xact_id(),"
            " revision = nextval('ai_revision') WHERE resolution->>'s' = %s",
            (subject_id,),
        ).rowcount,
        "comments": conn.execute(
            "DELETE FROM ai_comments WHERE author_id = %s", (subject_id,)
        ).rowcount,
        "people": conn.execute(
            "DELETE FROM ai_people WHERE subject_id = %s", (subject_id,)
        ).rowcount,
    }
    conn.execute(
        "INSERT INTO ai_erasures (tenant_id, subject_id, request_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = EXCLUDED.request_id,"
        " txid = pg_current_xact_id(), revision = nextval('ai_revision')",
        (tenant_id, subject_id, request_id),
    )
    return purged
