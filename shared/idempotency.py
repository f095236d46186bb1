"""Idempotency-Key on creates: the first request claims the key for 24 hours, a retry gets its
resource."""

import hashlib
import json

import psycopg
import structlog
from nameko.extensions import DependencyProvider

from shared import errors
from shared.background import BackgroundLoop
from shared.web import parse_json

log = structlog.get_logger()

# A client retries within minutes; a day covers a night's outage and keeps no key longer.
# The system role's delete policy (migration 002) holds the same period.
TTL = "24 hours"


class IdempotencyKeyReused(errors.Unprocessable):
    """The same key came with another body: the client is confused, not retrying."""


def request_hash(request):
    """SHA-256 of the JSON body with its keys sorted, so formatting does not matter."""
    body = parse_json(request.get_data(cache=True))
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def claim(conn, tenant_id, request, principal, resource, status=201):
    """None when this request owns the key (or sent none); else the earlier request's resource.

    A concurrent first use holds the row lock until it commits, so the loser waits and then
    sees the winner's resource rather than creating a second one. An expired record counts
    as absent: this request takes the key over.
    """
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    digest = request_hash(request)
    claimed = conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, principal, request_hash, status, resource)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, key, principal) DO UPDATE"
        " SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,"
        " resource = EXCLUDED.resource, created_at = now()"
        f" WHERE idempotency_keys.created_at < now() - interval '{TTL}' RETURNING 1",
        (tenant_id, key[:200], principal, digest, status, resource),
    ).fetchone()
    if claimed:
        return None
    earlier_hash, earlier_resource = conn.execute(
        "SELECT request_hash, resource FROM idempotency_keys"
        " WHERE tenant_id = %s AND key = %s AND principal = %s",
        (tenant_id, key[:200], principal),
    ).fetchone()
    if earlier_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another body")
    return earlier_resource


def purge_expired(conn):
    """Delete every tenant's records older than TTL (as the system role); returns how many."""
    return conn.execute(
        f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{TTL}'"
    ).rowcount


class IdempotencyExpiry(BackgroundLoop, DependencyProvider):
    """Deletes expired idempotency records at start and then every IDEMPOTENCY_PURGE_INTERVAL
    seconds (default 3600). Several processes doing it at once only delete nothing twice."""

    def setup(self):
        self.interval = float(self.container.config.get("IDEMPOTENCY_PURGE_INTERVAL", 3600))
        self.url = self.container.config["SYSTEM_DATABASE_URL"]

    def run_once(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            purged = purge_expired(conn)
        if purged:
            log.info("expired idempotency records deleted", count=purged)
        return self.interval
