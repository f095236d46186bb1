"""SQL of the audit log: appending bursts to tenant chains, reading entries and checkpoints."""

import datetime
import json

from psycopg.adapt import Loader
from psycopg.pq import Format

from services.audit.chain import GENESIS_HASH, ChainBuilder

# A two-key advisory lock of its own: the first key names the purpose, so it never collides
# with the relay's one-key locks; the second is the tenant.
_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
_TENANT_LOCKED = _TENANT + ", pg_advisory_xact_lock(hashtext('dzdesk.audit.chain'), hashtext(%s))"
# One round trip: the chain head, and which of the burst's events the chain already holds.
# Arrays go as binary parameters (%b): in text form psycopg escapes each element by regex.
# Each event id is one probe of the unique (tenant_id, event_id) index: the LIMIT keeps the
# planner from turning the probes into a join that scans the tenant's whole chain, which it
# did without fresh statistics (seconds per burst once a chain held some 20,000 entries).
_HEAD_AND_SEEN = """
SELECT h.seq, h.hash,
       ARRAY(SELECT seen.event_id::text FROM unnest(%(ids)b::uuid[]) AS burst(id)
             CROSS JOIN LATERAL (SELECT event_id FROM audit_entry
                                 WHERE tenant_id = %(tenant)s AND event_id = burst.id
                                 LIMIT 1) AS seen)
FROM (SELECT 0::bigint AS seq, NULL::bytea AS hash
      UNION ALL
      (SELECT seq, hash FROM audit_entry WHERE tenant_id = %(tenant)s ORDER BY seq DESC LIMIT 1)
      ORDER BY seq DESC LIMIT 1) AS h
"""
_INSERT = """
INSERT INTO audit_entry (tenant_id, seq, event_id, envelope, prev_hash, hash)
SELECT %s, e.seq, e.event_id, e.envelope, e.prev_hash, e.hash
FROM unnest(%b::bigint[], %b::uuid[], %b::text[], %b::bytea[], %b::bytea[])
     AS e(seq, event_id, envelope, prev_hash, hash)
"""
_COLUMNS = "seq, event_id::text, envelope, prev_hash, hash, recorded_at"
CHECKPOINT_EVENT = "audit.checkpoint_signed"


def use_tenant(conn, tenant_id):
    """Point RLS at one tenant for the rest of the transaction (callable again to switch)."""
    conn.execute(_TENANT, (str(tenant_id),))


def head(conn, tenant_id):
    """(seq, hash bytes) of the tenant's last entry, or (0, genesis)."""
    row = conn.execute(
        "SELECT seq, hash FROM audit_entry WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
        (tenant_id,),
    ).fetchone()
    return (row[0], bytes(row[1])) if row else (0, bytes.fromhex(GENESIS_HASH))


def append_burst(conn, received):
    """Append a burst of `ingest.Received` to their tenants' chains in the open transaction.

    Each tenant's chain is locked for the rest of the transaction, tenants in a fixed order so
    two writers never wait on each other in a cycle. Events already in the chain, or twice in
    the burst, are skipped: exactly once by event_id. Returns how many entries were appended.
    """
    by_tenant = {}
    for item in received:
        by_tenant.setdefault(item.tenant_id, []).append(item)
    appended = 0
    for tenant_id in sorted(by_tenant):
        conn.execute(_TENANT_LOCKED, (tenant_id, tenant_id))
        appended += _append_tenant(conn, tenant_id, by_tenant[tenant_id])
    return appended


def _append_tenant(conn, tenant_id, items):
    seq, digest, seen = conn.execute(
        _HEAD_AND_SEEN, {"tenant": tenant_id, "ids": [item.event_id for item in items]}
    ).fetchone()
    seen = set(seen)
    builder = ChainBuilder(seq, GENESIS_HASH if digest is None else bytes(digest).hex())
    seqs, ids, texts, prevs, hashes = [], [], [], [], []
    for item in items:
        if item.event_id in seen:
            continue
        seen.add(item.event_id)
        seq, prev, digest = builder.append_canonical(item.canonical)
        seqs.append(seq)
        ids.append(item.event_id)
        texts.append(item.canonical.decode("utf-8"))
        prevs.append(prev)
        hashes.append(digest)
    if seqs:
        conn.execute(_INSERT, (tenant_id, seqs, ids, texts, prevs, hashes))
    return len(seqs)


def _filters(query):
    clauses, params = [], []
    if query.get("event_type"):
        clauses.append("event_type = %s")
        params.append(query["event_type"])
    if query.get("stream_id"):
        clauses.append("stream_id = %s")
        params.append(query["stream_id"])
    if query.get("from_time"):
        clauses.append("recorded_at >= %s")
        params.append(query["from_time"])
    if query.get("to_time"):
        clauses.append("recorded_at < %s")
        params.append(query["to_time"])
    return "".join(f" AND {clause}" for clause in clauses), params


def entries_after(conn, tenant_id, after_seq, limit, query, upto=None):
    """Up to `limit` stored rows after `after_seq` (and at most `upto`) matching the filters."""
    where, params = _filters(query)
    if upto is not None:
        where += " AND seq <= %s"
        params.append(upto)
    return conn.execute(
        f"SELECT {_COLUMNS} FROM audit_entry WHERE tenant_id = %s AND seq > %s{where}"
        " ORDER BY seq LIMIT %s",
        (tenant_id, after_seq, *params, limit),
    ).fetchall()


def entry_line(tenant_id, row):
    """One entry as JSON text, the stored canonical envelope embedded verbatim (no re-encoding)."""
    seq, event_id, envelope, prev_hash, hash, recorded_at = row
    return (
        f'{{"tenant_id":"{tenant_id}","seq":{seq},"event_id":"{event_id}",'
        f'"envelope":{envelope},"prev_hash":"{bytes(prev_hash).hex()}",'
        f'"hash":"{bytes(hash).hex()}","recorded_at":"{recorded_at.isoformat()}"}}'
    )


class _CanonicalBytes(Loader):
    """`envelope` as the bytes PostgreSQL holds: the canonical JSON is hashed as it is, so it is
    neither decoded here nor converted to bytea on the server (convert_to costs the server
    three times the read itself)."""

    format = Format.BINARY

    def load(self, data):
        return bytes(data)


_COLUMNS_STORED = "seq, prev_hash, hash, envelope"
# A bounded seq range, not `seq > x ORDER BY seq LIMIT n`: without fresh statistics the planner
# may answer that one by sorting the tenant's whole remaining chain for every page.
_RANGE = (
    f"SELECT {_COLUMNS_STORED} FROM audit_entry"
    " WHERE tenant_id = %s AND seq > %s AND seq <= %s ORDER BY seq"
)
_FIRST_AFTER = (
    f"SELECT {_COLUMNS_STORED} FROM audit_entry"
    " WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT 1"
)


def bytes_cursor(conn):
    """A binary cursor that reads `envelope` as the stored canonical bytes."""
    cursor = conn.cursor(binary=True)
    cursor.adapters.register_loader("text", _CanonicalBytes)
    return cursor


def stored_pages(conn, tenant_id, page=1000):
    """The chain up to its current head in seq order, as lists of `(seq, prev_hash, hash,
    canonical bytes)` (the form `verification.verify_pages` takes), a few pages in memory at most.

    Pages are seq ranges of the primary key; the next one is asked for before this one is
    read, in pipeline mode, so the server reads it while the caller hashes this one. A range
    with no entry at all (a gap as long as a page) yields the first entry after it instead,
    which is all a verifier needs to report the gap.
    """
    last, _ = head(conn, tenant_id)
    starts = range(0, last, page)
    if not starts:
        return
    with conn.pipeline():
        cursors = [bytes_cursor(conn), bytes_cursor(conn)]
        cursors[0].execute(_RANGE, (tenant_id, 0, page))
        for index, start in enumerate(starts):
            if index + 1 < len(starts):
                cursors[(index + 1) % 2].execute(
                    _RANGE, (tenant_id, start + page, start + 2 * page)
                )
            rows = cursors[index % 2].fetchall()
            if not rows:
                with bytes_cursor(conn) as cursor:
                    rows = cursor.execute(_FIRST_AFTER, (tenant_id, start + page)).fetchall()
            if rows:
                yield rows


def entries_by_actor(conn, subject_id, limit=10000):
    """What the log records the subject doing: seq, type, time; never the sealed fields."""
    rows = conn.execute(
        "SELECT seq, event_type, envelope::jsonb->>'occurred_at', recorded_at FROM audit_entry"
        " WHERE envelope::jsonb->'actor'->>'user_id' = %s ORDER BY seq LIMIT %s",
        (str(subject_id), limit),
    ).fetchall()
    return [
        {
            "seq": seq,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at.isoformat(),
        }
        for seq, event_type, occurred_at, recorded_at in rows
    ]


def checkpoint_row_to_dict(row):
    tenant_id, seq, hash, signed_at, key_id, signature = row
    return {
        "tenant_id": str(tenant_id),
        "seq": seq,
        "hash": bytes(hash).hex(),
        "signed_at": signed_at.astimezone(datetime.UTC).isoformat(),
        "key_id": key_id,
        "signature": signature,
    }


_CHECKPOINT_COLUMNS = "tenant_id, seq, hash, signed_at, key_id, signature"


def checkpoints(conn, tenant_id):
    rows = conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_checkpoint WHERE tenant_id = %s ORDER BY seq",
        (tenant_id,),
    ).fetchall()
    return [checkpoint_row_to_dict(row) for row in rows]


def latest_checkpoint(conn, tenant_id):
    row = conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_checkpoint"
        " WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
        (tenant_id,),
    ).fetchone()
    return checkpoint_row_to_dict(row) if row else None


def insert_checkpoint(conn, checkpoint):
    """Store a signed checkpoint; False when the tenant already has one at that seq."""
    row = conn.execute(
        "INSERT INTO audit_checkpoint (tenant_id, seq, hash, signed_at, key_id, signature)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (
            checkpoint.tenant_id,
            checkpoint.seq,
            bytes.fromhex(checkpoint.hash),
            checkpoint.signed_at,
            checkpoint.key_id,
            checkpoint.signature_b64,
        ),
    ).fetchone()
    return row is not None


def public_jwks(conn):
    """Every key that ever signed checkpoints, public parts only, oldest first."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT public_jwk FROM audit_signing_key ORDER BY created_at, key_id"
        )
    ]


# The scheduler's named cross-tenant read (system role): tenants whose chain gained an entry
# other than audit's own checkpoint events since their last checkpoint. Distinct tenants by a
# skip scan over the primary key; each tenant's tail read backwards through the same index.
TENANTS_TO_CHECKPOINT = """
WITH RECURSIVE tenants AS (
    (SELECT tenant_id FROM audit_entry ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.tenant_id FROM audit_entry e WHERE e.tenant_id > t.tenant_id
            ORDER BY e.tenant_id LIMIT 1)
    FROM tenants t WHERE t.tenant_id IS NOT NULL
)
SELECT t.tenant_id::text FROM tenants t
CROSS JOIN LATERAL (
    SELECT e.seq FROM audit_entry e
    WHERE e.tenant_id = t.tenant_id AND e.event_type <> %(own)s
    ORDER BY e.seq DESC LIMIT 1) AS moved
WHERE t.tenant_id IS NOT NULL
  AND moved.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoint c
                            WHERE c.tenant_id = t.tenant_id), 0)
"""


def tenants_to_checkpoint(system_conn):
    return [row[0] for row in system_conn.execute(TENANTS_TO_CHECKPOINT, {"own": CHECKPOINT_EVENT})]


def dumps(value):
    return json.dumps(value, separators=(",", ":"))


SHREDDED_EVENT = "privacy.subject_key_shredded"


def shredded_subjects(system_conn, after, limit):
    """[(tenant id, subject id, seq)] of shredding entries after (tenant id, seq), every tenant.

    Only privacy's own shredding streams count: the subject is the stream's, not whatever a
    body might claim.
    """
    tenant, seq = after or ("00000000-0000-0000-0000-000000000000", 0)
    return [
        (str(t), stream[len("subject-") :], n)
        for t, n, stream in system_conn.execute(
            "SELECT tenant_id, seq, stream_id FROM audit_entry WHERE event_type = %s"
            " AND stream_id LIKE 'subject-%%' AND (tenant_id, seq) > (%s::uuid, %s)"
            " ORDER BY tenant_id, seq LIMIT %s",
            (SHREDDED_EVENT, tenant, seq, limit),
        ).fetchall()
    ]
