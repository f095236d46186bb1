"""SQL of the notifications service: members, tickets, preferences, notices and the outbox."""

from psycopg.types.json import Jsonb

# members


def record_member_roles(conn, tenant_id, user_id, roles, version):
    """A member's roles as of identity's stream `version`; an older version changes nothing."""
    conn.execute(
        "INSERT INTO notify_members (tenant_id, user_id, roles, roles_v) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET roles = EXCLUDED.roles,"
        " roles_v = EXCLUDED.roles_v WHERE notify_members.roles_v < EXCLUDED.roles_v",
        (tenant_id, user_id, list(roles), version),
    )


def record_member_email(conn, tenant_id, user_id, sealed, version):
    """The member's email as identity sealed it; an older version changes nothing."""
    conn.execute(
        "INSERT INTO notify_members (tenant_id, user_id, email, email_v) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, user_id) DO UPDATE SET email = EXCLUDED.email,"
        " email_v = EXCLUDED.email_v WHERE notify_members.email_v < EXCLUDED.email_v",
        (tenant_id, user_id, Jsonb(sealed), version),
    )


def member(conn, user_id):
    """{user_id, roles, email (sealed)} of the current tenant's member, or None."""
    row = conn.execute(
        "SELECT user_id, roles, email FROM notify_members WHERE user_id = %s", (user_id,)
    ).fetchone()
    return dict(zip(("user_id", "roles", "email"), row)) if row else None


def admins(conn):
    """The current tenant's admins' user ids."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT user_id FROM notify_members WHERE 'admin' = ANY(roles) ORDER BY user_id"
        )
    ]


def is_erased(conn, subject_id):
    return (
        conn.execute(
            "SELECT 1 FROM notify_erasures WHERE subject_id = %s", (subject_id,)
        ).fetchone()
        is not None
    )


def tenants_with_members(system):
    """Every tenant with a member (the system role reads only tenant_id)."""
    return [str(row[0]) for row in system.execute("SELECT DISTINCT tenant_id FROM notify_members")]


# tickets


def record_ticket(conn, tenant_id, stream_id, ticket_id, requester_id, watchers, title, version):
    conn.execute(
        "INSERT INTO notify_tickets (tenant_id, stream_id, ticket_id, requester_id, watchers,"
        " title, title_v) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, stream_id) DO UPDATE SET"
        " requester_id = EXCLUDED.requester_id,"
        " watchers = ARRAY(SELECT DISTINCT unnest(notify_tickets.watchers || EXCLUDED.watchers)),"
        " title = CASE WHEN EXCLUDED.title_v > notify_tickets.title_v THEN EXCLUDED.title"
        "   ELSE notify_tickets.title END,"
        " title_v = GREATEST(EXCLUDED.title_v, notify_tickets.title_v)",
        (tenant_id, stream_id, ticket_id, requester_id, list(watchers), Jsonb(title), version),
    )


def record_title(conn, stream_id, title, version):
    conn.execute(
        "UPDATE notify_tickets SET title = %s, title_v = %s WHERE stream_id = %s AND title_v < %s",
        (Jsonb(title), version, stream_id, version),
    )


def record_assignee(conn, stream_id, assignee_id, version, group_id=None):
    conn.execute(
        "UPDATE notify_tickets SET assignee_id = %s, group_id = %s, assignee_v = %s"
        " WHERE stream_id = %s AND assignee_v < %s",
        (assignee_id, group_id, version, stream_id, version),
    )


def record_group_member(conn, tenant_id, group_id, user_id, member, version):
    """Whether the user is in the group as of its stream `version` (older changes nothing)."""
    conn.execute(
        "INSERT INTO notify_group_members (tenant_id, group_id, user_id, member, version)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, group_id, user_id) DO UPDATE"
        " SET member = excluded.member, version = excluded.version"
        " WHERE notify_group_members.version < excluded.version",
        (tenant_id, group_id, user_id, member, version),
    )


def group_members(conn, group_id):
    rows = conn.execute(
        "SELECT user_id FROM notify_group_members WHERE group_id = %s AND member ORDER BY user_id",
        (group_id,),
    ).fetchall()
    return [row[0] for row in rows]


def change_watchers(conn, stream_id, added, removed):
    conn.execute(
        "UPDATE notify_tickets SET watchers = ARRAY(SELECT DISTINCT w FROM"
        " unnest(watchers || %s::text[]) AS w WHERE w <> ALL(%s::text[])) WHERE stream_id = %s",
        (list(added), list(removed), stream_id),
    )


_TICKET = (
    "stream_id",
    "ticket_id",
    "requester_id",
    "assignee_id",
    "watchers",
    "title",
    "group_id",
)


def ticket(conn, stream_id):
    row = conn.execute(
        "SELECT " + ", ".join(_TICKET) + " FROM notify_tickets WHERE stream_id = %s", (stream_id,)
    ).fetchone()
    return dict(zip(_TICKET, row)) if row else None


def ticket_by_id(conn, ticket_id):
    row = conn.execute(
        "SELECT " + ", ".join(_TICKET) + " FROM notify_tickets WHERE ticket_id = %s", (ticket_id,)
    ).fetchone()
    return dict(zip(_TICKET, row)) if row else None


# preferences


def preferences(conn, user_id):
    """{kind: {"email": bool, "platform": bool}} the user chose (defaults are not stored)."""
    return {
        kind: {"email": email, "platform": platform}
        for kind, email, platform in conn.execute(
            "SELECT kind, email, platform FROM notify_preferences WHERE user_id = %s", (user_id,)
        )
    }


def set_preference(conn, tenant_id, user_id, kind, email, platform):
    conn.execute(
        "INSERT INTO notify_preferences (tenant_id, user_id, kind, email, platform)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, user_id, kind) DO UPDATE"
        " SET email = EXCLUDED.email, platform = EXCLUDED.platform",
        (tenant_id, user_id, kind, email, platform),
    )


# notices and the outbox


def add_notice(conn, tenant_id, notice, *, platform, mail):
    """Record a notice (and its mail when `mail`); False when it already was."""
    added = conn.execute(
        "INSERT INTO notify_notices (tenant_id, notice_id, user_id, kind, ticket_id, event_id,"
        " data, platform) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (
            tenant_id,
            notice["notice_id"],
            notice["user_id"],
            notice["kind"],
            notice.get("ticket_id"),
            notice["event_id"],
            Jsonb(notice.get("data") or {}),
            platform,
        ),
    ).fetchone()
    if added and mail:
        conn.execute(
            "INSERT INTO notify_outbox (tenant_id, notice_id, user_id) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (tenant_id, notice["notice_id"], notice["user_id"]),
        )
    return added is not None


def announce_to_members(conn, tenant_id, event_id, kind, data):
    """A notice and its mail for every member of the tenant (ids derived from the event and
    the member, as notice_id() derives them); how many were new."""
    added = conn.execute(
        "WITH new AS (INSERT INTO notify_notices (tenant_id, notice_id, user_id, kind, event_id,"
        " data) SELECT tenant_id, md5(%s || '/' || user_id)::uuid, user_id, %s, %s, %s"
        " FROM notify_members WHERE roles <> '{}'"
        " ON CONFLICT DO NOTHING RETURNING tenant_id, notice_id, user_id)"
        " INSERT INTO notify_outbox (tenant_id, notice_id, user_id)"
        " SELECT tenant_id, notice_id, user_id FROM new ON CONFLICT DO NOTHING",
        (str(event_id), kind, event_id, Jsonb(data)),
    )
    return added.rowcount


_NOTICE = ("notice_id", "kind", "ticket_id", "data", "created_at", "read_at")


def notices(conn, user_id, limit, after=None, unread=False, listed_only=True):
    """The user's notices, newest first, from after (created_at, notice_id): those listed in
    the platform, or every one (an export)."""
    query = (
        "SELECT notice_id, kind, ticket_id, data, created_at, read_at FROM notify_notices"
        " WHERE user_id = %s" + (" AND platform" if listed_only else "")
    )
    args = [user_id]
    if unread:
        query += " AND read_at IS NULL"
    if after is not None:
        query += " AND (created_at, notice_id) < (%s::timestamptz, %s::uuid)"
        args += list(after)
    query += " ORDER BY created_at DESC, notice_id DESC LIMIT %s"
    return [dict(zip(_NOTICE, row)) for row in conn.execute(query, [*args, limit])]


def unread_count(conn, user_id):
    return conn.execute(
        "SELECT count(*) FROM notify_notices WHERE user_id = %s AND platform AND read_at IS NULL",
        (user_id,),
    ).fetchone()[0]


def mark_read(conn, user_id, notice_id):
    """The notice's read time (set now when unread); None when it is not the user's."""
    row = conn.execute(
        "UPDATE notify_notices SET read_at = COALESCE(read_at, now())"
        " WHERE notice_id = %s AND user_id = %s AND platform RETURNING read_at",
        (notice_id, user_id),
    ).fetchone()
    return row[0] if row else None


def due_mail(system, limit):
    """(tenant_id, notice_id) of queued mail whose time has come, in every tenant."""
    return [
        (str(tenant_id), str(notice_id))
        for tenant_id, notice_id in system.execute(
            "SELECT tenant_id, notice_id FROM notify_outbox WHERE state = 'queued'"
            " AND next_at <= now() ORDER BY next_at LIMIT %s",
            (limit,),
        )
    ]


def claim_mail(conn, notice_id):
    """The queued mail with its notice, locked for this transaction; None when another sender
    has it or it is no longer queued."""
    row = conn.execute(
        "SELECT o.notice_id, o.user_id, o.attempts, n.kind, n.ticket_id, n.data"
        " FROM notify_outbox o JOIN notify_notices n USING (tenant_id, notice_id)"
        " WHERE o.notice_id = %s AND o.state = 'queued' FOR UPDATE OF o SKIP LOCKED",
        (notice_id,),
    ).fetchone()
    keys = ("notice_id", "user_id", "attempts", "kind", "ticket_id", "data")
    return dict(zip(keys, row)) if row else None


def finish_mail(conn, notice_id, state, error=None):
    conn.execute(
        "UPDATE notify_outbox SET state = %s, last_error = %s, done_at = now(),"
        " attempts = attempts + 1 WHERE notice_id = %s",
        (state, error, notice_id),
    )


def retry_mail(conn, notice_id, delay_seconds, error):
    conn.execute(
        "UPDATE notify_outbox SET attempts = attempts + 1, last_error = %s,"
        " next_at = now() + make_interval(secs => %s) WHERE notice_id = %s",
        (error, delay_seconds, notice_id),
    )


def mail_states(conn, user_id):
    """{notice_id: state} of the user's mail (tests and export)."""
    return {
        str(notice_id): state
        for notice_id, state in conn.execute(
            "SELECT notice_id, state FROM notify_outbox WHERE user_id = %s", (user_id,)
        )
    }


# erasure


def subject_data(conn, subject_id):
    """(member row, preferences, notices) of the subject."""
    return (
        member(conn, subject_id),
        preferences(conn, subject_id),
        notices(conn, subject_id, limit=10_000, listed_only=False),
    )


def purge_subject(conn, tenant_id, subject_id, request_id):
    """Delete the subject's address, preferences, notices and queued mail; record the erasure."""
    purged = {
        "queued_mail": conn.execute(
            "DELETE FROM notify_outbox WHERE user_id = %s AND state = 'queued'", (subject_id,)
        ).rowcount,
        "mail": conn.execute(
            "DELETE FROM notify_outbox WHERE user_id = %s", (subject_id,)
        ).rowcount,
        "notices": conn.execute(
            "DELETE FROM notify_notices WHERE user_id = %s", (subject_id,)
        ).rowcount,
        "preferences": conn.execute(
            "DELETE FROM notify_preferences WHERE user_id = %s", (subject_id,)
        ).rowcount,
        "members": conn.execute(
            "DELETE FROM notify_members WHERE user_id = %s", (subject_id,)
        ).rowcount,
        # their title is shredded with their key; the sealed entry goes too
        "titles": conn.execute(
            "UPDATE notify_tickets SET title = NULL WHERE requester_id = %s AND title IS NOT NULL",
            (subject_id,),
        ).rowcount,
    }
    conn.execute(
        "INSERT INTO notify_erasures (tenant_id, subject_id, request_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = EXCLUDED.request_id",
        (tenant_id, subject_id, request_id),
    )
    return purged
