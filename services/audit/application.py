"""Audit's operations: signing chain heads (on demand and in scheduled rounds), reading the log.

`audit.checkpoint_signed` is the only event audit emits about itself; it carries seq, hash,
key id and signature, nothing personal. Audit consumes its own exchange like any other, so
that event is appended to the tenant's chain too. It must not cause another checkpoint, or an
idle tenant would be signed forever: a scheduled round signs a tenant only when an entry other
than audit's own checkpoint events lies beyond its last checkpoint.
"""

import psycopg

from services.audit import store
from services.audit.checkpoints import public_keys_by_id
from services.audit.exceptions import EmptyLog
from services.audit.verification import verify_pages
from shared import eventstore, metrics
from shared.envelope import Envelope, system_actor

STREAM = "audit-checkpoints"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dzdesk.audit.checkpoint'), hashtext(%s))"


def sign_head(conn, signer, tenant_id, correlation_id=None):
    """Sign the tenant's current head in the open transaction.

    Returns (checkpoint dict, True) when a checkpoint was made and its event put in the
    outbox, or (the existing one, False) when the head is already signed. Raises EmptyLog.
    """
    tenant_id = str(tenant_id)
    store.use_tenant(conn, tenant_id)
    conn.execute(_LOCK, (tenant_id,))
    seq, digest = store.head(conn, tenant_id)
    if seq == 0:
        raise EmptyLog("the tenant's audit log has no entries yet")
    latest = store.latest_checkpoint(conn, tenant_id)
    if latest is not None and latest["seq"] >= seq:
        return latest, False
    checkpoint = signer.sign(tenant_id, seq, digest.hex())
    store.insert_checkpoint(conn, checkpoint)
    body = checkpoint.to_dict()
    data = {name: body[name] for name in ("seq", "hash", "key_id", "signature", "signed_at")}
    event = Envelope.new(
        store.CHECKPOINT_EVENT,
        tenant_id,
        STREAM,
        data,
        actor=system_actor("audit"),
        correlation_id=correlation_id,
    )
    eventstore.append_next(conn, STREAM, [event])
    return body, True


def sign_moved_chains(settings, signer):
    """One scheduled round: a checkpoint for every tenant whose chain moved; returns how many."""
    with psycopg.connect(settings.system_database_url, autocommit=True) as system:
        tenants = store.tenants_to_checkpoint(system)
    signed = 0
    with psycopg.connect(settings.database_url) as conn:
        for tenant_id in tenants:
            with conn.transaction():
                signed += sign_head(conn, signer, tenant_id)[1]
    return signed


def events_page(conn, tenant_id, after_seq, limit, query):
    """(the page's entries as JSON lines, whether more follow, the last seq) of one log page."""
    rows = store.entries_after(conn, tenant_id, after_seq, limit + 1, query)
    more = len(rows) > limit
    rows = rows[:limit]
    lines = [store.entry_line(tenant_id, row) for row in rows]
    return lines, more, rows[-1][0] if rows else None


def verify_log(conn, tenant_id):
    """The tenant's stored chain recomputed against its checkpoints and the signers' keys."""
    keys = public_keys_by_id(store.public_jwks(conn))
    result = verify_pages(
        store.stored_pages(conn, tenant_id),
        store.checkpoints(conn, tenant_id),
        keys,
        tenant_id=tenant_id,
    )
    metrics.AUDIT_VERIFICATIONS.labels("audit", "ok" if result.ok else "failed").inc()
    return result


def latest_checkpoint(conn, tenant_id):
    """The tenant's newest checkpoint and the public JWK of its signer; EmptyLog when none."""
    checkpoint = store.latest_checkpoint(conn, tenant_id)
    if checkpoint is None:
        raise EmptyLog("no checkpoint has been signed for this tenant yet")
    keys = {key["kid"]: key for key in store.public_jwks(conn)}
    return {"checkpoint": checkpoint, "public_key": keys.get(checkpoint["key_id"])}


def shredded_subjects(system_conn, after, limit):
    """One page of every subject whose key the log saw shredded, across tenants."""
    limit = max(1, min(int(limit), 10_000))
    rows = store.shredded_subjects(system_conn, after, limit)
    more = len(rows) == limit
    return {
        "subjects": [[tenant, subject] for tenant, subject, _ in rows],
        "next": [rows[-1][0], rows[-1][2]] if more else None,
    }
