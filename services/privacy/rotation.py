"""Master key rotation: every live subject key and export key re-wrapped under the current version.

The system role finds what is wrapped by another version (ids and versions only, never a
wrapped key); each batch is then re-wrapped inside its tenant's transaction as the app role,
rows locked, so a rotation can run while privacy serves, and again after an interruption.
"""

import psycopg
from psycopg_pool import ConnectionPool

from services.privacy import exports
from services.privacy.keyring import Keyring
from shared.db import tenant_transaction

_NO_TENANT = "00000000-0000-0000-0000-000000000000"
_SUBJECT_KEYS = (
    "SELECT tenant_id::text, subject_id FROM subject_keys WHERE shredded_at IS NULL"
    " AND master_key_version IS DISTINCT FROM %s AND (tenant_id, subject_id) > (%s::uuid, %s)"
    " ORDER BY tenant_id, subject_id LIMIT %s"
)
_EXPORT_KEYS = (
    "SELECT tenant_id::text, id::text FROM privacy_requests WHERE type = 'export'"
    " AND export_key_version IS DISTINCT FROM %s AND (tenant_id, id) > (%s::uuid, %s::uuid)"
    " ORDER BY tenant_id, id LIMIT %s"
)


def _batches(system, query, version, batch):
    """Batches of (tenant id, id) pairs, grouped by tenant, in key order."""
    after = (_NO_TENANT, _NO_TENANT if query is _EXPORT_KEYS else "")
    while True:
        rows = system.execute(query, (version, *after, batch)).fetchall()
        if not rows:
            return
        by_tenant = {}
        for tenant_id, item in rows:
            by_tenant.setdefault(tenant_id, []).append(item)
        yield by_tenant
        after = rows[-1]


def _rewrap_exports(conn, master_keys, tenant_id, request_ids):
    rows = conn.execute(
        "SELECT id::text, export_key, export_key_version FROM privacy_requests"
        " WHERE id = ANY(%s::uuid[])"
        " AND export_key IS NOT NULL AND export_key_version IS DISTINCT FROM %s FOR UPDATE",
        (request_ids, master_keys.current_version),
    ).fetchall()
    for request_id, wrapped, version in rows:
        rewrapped, new_version = exports.rewrap_request_key(
            master_keys, tenant_id, request_id, (bytes(wrapped), version)
        )
        conn.execute(
            "UPDATE privacy_requests SET export_key = %s, export_key_version = %s WHERE id = %s",
            (rewrapped, new_version, request_id),
        )
    return len(rows)


def rotate_master(master_keys, app_url, system_url, batch=500):
    """Re-wrap everything under master_keys.current; returns the counts re-wrapped."""
    version = master_keys.current_version
    done = {"version": version, "subject_keys": 0, "export_keys": 0}
    with (
        psycopg.connect(system_url, autocommit=True) as system,
        ConnectionPool(app_url, min_size=1, max_size=1, kwargs={"autocommit": False}) as pool,
    ):
        for by_tenant in _batches(system, _SUBJECT_KEYS, version, batch):
            for tenant_id, subject_ids in by_tenant.items():
                with tenant_transaction(pool, tenant_id) as conn:
                    done["subject_keys"] += Keyring(conn, master_keys).rewrap(
                        tenant_id, subject_ids
                    )
        for by_tenant in _batches(system, _EXPORT_KEYS, version, batch):
            for tenant_id, request_ids in by_tenant.items():
                with tenant_transaction(pool, tenant_id) as conn:
                    done["export_keys"] += _rewrap_exports(
                        conn, master_keys, tenant_id, request_ids
                    )
    return done


def key_versions(system_url):
    """{"subject_keys": {version: live keys}, "export_keys": {version: requests}} ("none":
    before versions)."""
    with psycopg.connect(system_url, autocommit=True) as system:
        subjects = system.execute(
            "SELECT master_key_version, count(*) FROM subject_keys"
            " WHERE shredded_at IS NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        requests = system.execute(
            "SELECT export_key_version, count(*) FROM privacy_requests"
            " WHERE type = 'export' AND export_key_version IS NOT NULL"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return {
        "subject_keys": {str(v or "none"): n for v, n in subjects},
        "export_keys": {str(v): n for v, n in requests},
    }
