"""Idempotency-Key on creates: the first request claims the key, a retry gets its resource."""
import hashlib
import json

from shared import errors


class IdempotencyKeyReused(errors.Unprocessable):
    """The same key came with another body: the client is confused, not retrying."""


def request_hash(request):
    """SHA-256 of the JSON body with its keys sorted, so formatting does not matter."""
    body = json.loads(request.get_data(cache=True) or b"null")
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def claim(conn, tenant_id, request, principal, resource, status=201):
    """None when this request owns the key (or sent none); else the earlier request's resource.

    A concurrent first use holds the row lock until it commits, so the loser waits and then
    sees the winner's resource rather than creating a second one.
    """
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    digest = request_hash(request)
    claimed = conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, principal, request_hash, status, resource)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (tenant_id, key[:200], principal, digest, status, resource)).fetchone()
    if claimed:
        return None
    earlier_hash, earlier_resource = conn.execute(
        "SELECT request_hash, resource FROM idempotency_keys"
        " WHERE tenant_id = %s AND key = %s AND principal = %s",
        (tenant_id, key[:200], principal)).fetchone()
    if earlier_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another body")
    return earlier_resource
