"""Privacy's SQL: request sagas, receipts, export parts and bundles, legal holds, policies."""

from psycopg.types.json import Jsonb

_REQUEST = "SELECT saga, pii, export_key, export_key_version FROM privacy_requests WHERE id = %s"


def insert_request(conn, saga, next_wakeup, pii=None, export_key=None):
    """Store a new request; False when the same kind already runs for this subject."""
    row = conn.execute(
        "INSERT INTO privacy_requests (tenant_id, id, type, subject_id, requested_by, status, saga,"
        " pii, export_key, export_key_version, next_wakeup)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, type, subject_id) WHERE active DO NOTHING RETURNING 1",
        (
            saga.tenant_id,
            saga.request_id,
            saga.KIND,
            saga.subject_id,
            saga.requested_by,
            saga.status,
            Jsonb(saga.to_dict()),
            Jsonb(pii) if pii else None,
            export_key and export_key[0],
            export_key and export_key[1],
            next_wakeup,
        ),
    ).fetchone()
    return row is not None


def active_request(conn, kind, subject_id):
    row = conn.execute(
        "SELECT saga FROM privacy_requests WHERE type = %s AND subject_id = %s AND active",
        (kind, subject_id),
    ).fetchone()
    return row[0] if row else None


def load_request(conn, request_id, lock=None):
    """(saga dict, sealed pii, (wrapped export key, master key version) or None);
    lock: None, 'wait' or 'skip' (due ones only)."""
    query = _REQUEST
    if lock == "skip":
        query += " AND next_wakeup <= now() FOR UPDATE SKIP LOCKED"
    elif lock == "wait":
        query += " FOR UPDATE"
    row = conn.execute(query, (request_id,)).fetchone()
    return (row[0], row[1], None if row[2] is None else (bytes(row[2]), row[3])) if row else None


def save_request(conn, saga, next_wakeup, clear_pii=False):
    conn.execute(
        "UPDATE privacy_requests SET saga = %s, status = %s, active = %s, next_wakeup = %s,"
        " pii = CASE WHEN %s THEN NULL ELSE pii END, updated_at = now() WHERE id = %s",
        (Jsonb(saga.to_dict()), saga.status, saga.active, next_wakeup, clear_pii, saga.request_id),
    )


def due_requests(system_conn, limit=100):
    """(tenant_id, id) of sagas due now, across tenants (the system role sees ids only)."""
    return [
        (str(t), str(i))
        for t, i in system_conn.execute(
            "SELECT tenant_id, id FROM privacy_requests WHERE next_wakeup <= now()"
            " ORDER BY next_wakeup LIMIT %s",
            (limit,),
        ).fetchall()
    ]


def earliest_submissions(system_conn):
    """{request type: when its oldest active request was filed}, across tenants (read as the
    system role: types, times and whether active; no ids)."""
    return dict(
        system_conn.execute(
            "SELECT type, min(created_at) FROM privacy_requests WHERE active GROUP BY type"
        ).fetchall()
    )


def shred_unpublished(system_conn, tenant_id, subject_id):
    """Whether the relay has yet to publish the subject's shredding (read as the system role)."""
    return (
        system_conn.execute(
            "SELECT 1 FROM events e, relay_checkpoint c"
            " WHERE e.tenant_id = %s AND e.stream_id = %s"
            " AND e.event_type = 'privacy.subject_key_shredded'"
            " AND (e.txid, e.position) > (c.txid, c.position)",
            (tenant_id, f"subject-{subject_id}"),
        ).fetchone()
        is not None
    )


def live_keys(system_conn, pairs):
    """Those (tenant id, subject id) pairs whose key is still live (read as the system role)."""
    if not pairs:
        return []
    return [
        (str(t), s)
        for t, s in system_conn.execute(
            "SELECT k.tenant_id, k.subject_id FROM subject_keys k"
            " JOIN unnest(%s::uuid[], %s::text[]) AS p(tenant_id, subject_id)"
            " USING (tenant_id, subject_id)"
            " WHERE k.shredded_at IS NULL",
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        ).fetchall()
    ]


def subject_requests(conn, subject_id):
    return [
        row[0]
        for row in conn.execute(
            "SELECT saga FROM privacy_requests WHERE subject_id = %s ORDER BY created_at",
            (subject_id,),
        ).fetchall()
    ]


def requests_about(conn, subject_id, limit, after=None):
    """Sagas of every request about the subject, whoever filed it, oldest first, one page."""
    query, params = (
        "SELECT saga, created_at, id FROM privacy_requests WHERE subject_id = %s",
        [subject_id],
    )
    if after:
        query += " AND (created_at, id) > (%s::timestamptz, %s::uuid)"
        params += list(after)
    rows = conn.execute(query + " ORDER BY created_at, id LIMIT %s", [*params, limit]).fetchall()
    return [(saga, created.isoformat(), str(request_id)) for saga, created, request_id in rows]


def events_of(conn, stream_ids, event_type):
    return [
        row[0]
        for row in conn.execute(
            "SELECT envelope FROM events WHERE stream_id = ANY(%s) AND event_type = %s"
            " ORDER BY position",
            (list(stream_ids), event_type),
        ).fetchall()
    ]


def record_receipt(conn, request_id, participant, attempt, receipt):
    conn.execute(
        "INSERT INTO privacy_receipts (tenant_id, request_id, participant, attempt, receipt)"
        " VALUES (current_setting('app.tenant_id')::uuid, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, request_id, participant) DO NOTHING",
        (request_id, participant, attempt, Jsonb(receipt)),
    )


def receipts(conn, request_id):
    return {
        name: receipt
        for name, receipt in conn.execute(
            "SELECT participant, receipt FROM privacy_receipts WHERE request_id = %s", (request_id,)
        ).fetchall()
    }


def subject_known(conn, subject_id):
    """A subject with personal data in this tenant has (or had) a key in this tenant's keyring."""
    return (
        conn.execute("SELECT 1 FROM subject_keys WHERE subject_id = %s", (subject_id,)).fetchone()
        is not None
    )


def place_hold(conn, hold_id, subject_id, reason, placed_by):
    return conn.execute(
        "INSERT INTO legal_holds (tenant_id, id, subject_id, reason, placed_by)"
        " VALUES (current_setting('app.tenant_id')::uuid, %s, %s, %s, %s) RETURNING placed_at",
        (hold_id, subject_id, reason, placed_by),
    ).fetchone()[0]


def release_hold(conn, hold_id, released_by):
    """The released hold's subject, or None when there is no such active hold."""
    row = conn.execute(
        "UPDATE legal_holds SET released_by = %s, released_at = now()"
        " WHERE id = %s AND released_at IS NULL RETURNING subject_id",
        (released_by, hold_id),
    ).fetchone()
    return row[0] if row else None


def hold_reasons(conn, subject_id):
    return [
        row[0]
        for row in conn.execute(
            "SELECT reason FROM legal_holds WHERE subject_id = %s AND released_at IS NULL"
            " ORDER BY placed_at",
            (subject_id,),
        ).fetchall()
    ]


def subject_holds(conn, subject_id):
    return [
        {"id": str(i), "placed_at": p.isoformat(), "released_at": r and r.isoformat()}
        for i, p, r in conn.execute(
            "SELECT id, placed_at, released_at FROM legal_holds WHERE subject_id = %s"
            " ORDER BY placed_at",
            (subject_id,),
        ).fetchall()
    ]


def store_part(conn, request_id, participant, blob):
    conn.execute(
        "INSERT INTO export_parts (tenant_id, request_id, participant, blob)"
        " VALUES (current_setting('app.tenant_id')::uuid, %s, %s, %s)"
        " ON CONFLICT (tenant_id, request_id, participant) DO UPDATE SET blob = excluded.blob",
        (request_id, participant, blob),
    )


def load_parts(conn, request_id):
    return {
        name: bytes(blob)
        for name, blob in conn.execute(
            "SELECT participant, blob FROM export_parts WHERE request_id = %s", (request_id,)
        ).fetchall()
    }


def store_bundle(conn, request_id, blob, manifest, expires_at):
    conn.execute("DELETE FROM export_parts WHERE request_id = %s", (request_id,))
    conn.execute(
        "INSERT INTO export_bundles (tenant_id, request_id, blob, manifest, expires_at)"
        " VALUES (current_setting('app.tenant_id')::uuid, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, request_id) DO NOTHING",
        (request_id, blob, Jsonb(manifest), expires_at),
    )


def load_bundle(conn, request_id):
    row = conn.execute(
        "SELECT blob, expires_at FROM export_bundles WHERE request_id = %s", (request_id,)
    ).fetchone()
    return (bytes(row[0]), row[1]) if row else None


def delete_exports(conn, request_ids):
    """Forget bundles, parts and their keys: an expired or erased export is gone for good."""
    conn.execute("DELETE FROM export_bundles WHERE request_id = ANY(%s::uuid[])", (request_ids,))
    conn.execute("DELETE FROM export_parts WHERE request_id = ANY(%s::uuid[])", (request_ids,))
    conn.execute(
        "UPDATE privacy_requests SET export_key = NULL, export_key_version = NULL"
        " WHERE id = ANY(%s::uuid[])",
        (request_ids,),
    )


def subject_export_ids(conn, subject_id):
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT id FROM privacy_requests WHERE type = 'export' AND subject_id = %s"
            " AND export_key IS NOT NULL",
            (subject_id,),
        ).fetchall()
    ]


def publish_policy(conn, version, title, summary, url, published_by):
    """The publication time, or None when the version exists already."""
    row = conn.execute(
        "INSERT INTO policy_versions (version, title, summary, url, published_by)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (version) DO NOTHING RETURNING published_at",
        (version, title, summary, url, published_by),
    ).fetchone()
    return row[0] if row else None


def current_policy(conn):
    row = conn.execute(
        "SELECT version, title, summary, url, published_at FROM policy_versions"
        " ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("version", "title", "summary", "url", "published_at"), row))


def policy_exists(conn, version):
    return (
        conn.execute("SELECT 1 FROM policy_versions WHERE version = %s", (version,)).fetchone()
        is not None
    )


def accept_policy(conn, user_id, version):
    """(accepted_at, first time?) of the user's acceptance."""
    row = conn.execute(
        "INSERT INTO policy_acceptances (tenant_id, user_id, version)"
        " VALUES (current_setting('app.tenant_id')::uuid, %s, %s) ON CONFLICT DO NOTHING"
        " RETURNING accepted_at",
        (user_id, version),
    ).fetchone()
    if row:
        return row[0], True
    return acceptance(conn, user_id, version), False


def acceptance(conn, user_id, version):
    row = conn.execute(
        "SELECT accepted_at FROM policy_acceptances WHERE user_id = %s AND version = %s",
        (user_id, version),
    ).fetchone()
    return row[0] if row else None


def subject_acceptances(conn, user_id):
    return [
        {"version": v, "accepted_at": a.isoformat()}
        for v, a in conn.execute(
            "SELECT version, accepted_at FROM policy_acceptances WHERE user_id = %s"
            " ORDER BY accepted_at",
            (user_id,),
        ).fetchall()
    ]
