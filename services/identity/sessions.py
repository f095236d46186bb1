"""Sessions and their rotating refresh tokens, and the Microsoft sign-ins in flight (SQL only).

A refresh token reads ``<tenant id>.<256 random bits>``: the tenant part lets a refresh open
the tenant's transaction (RLS) before looking the token up; only the SHA-256 of the whole
token is stored. A session is one token family; presenting a token that was already rotated
is reuse (a stolen copy or a replay) and revokes the whole family.
"""

import uuid
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from services.identity.exceptions import InvalidRefreshToken
from services.identity.tokens import hash_refresh_token, new_refresh_token
from shared.envelope import PLATFORM_TENANT

REUSED, LOGOUT, ERASURE = "refresh_token_reused", "logout", "erasure"


@dataclass(frozen=True)
class Refreshed:
    session_id: str
    user_id: str
    refresh_token: str | None
    reused: bool = False


def tenant_of(refresh_token: str) -> str:
    """The tenant a refresh token belongs to, or InvalidRefreshToken for anything malformed."""
    tenant, _, secret = (refresh_token or "").partition(".")
    try:
        if not secret or str(uuid.UUID(tenant)) != tenant:
            raise ValueError(tenant)
    except ValueError as exc:
        raise InvalidRefreshToken("the refresh token is not valid") from exc
    return tenant


def _issue(conn, tenant_id, session_id, now) -> str:
    secret, _ = new_refresh_token()
    token = f"{tenant_id}.{secret}"
    conn.execute(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, issued_at)"
        " VALUES (%s, %s, %s, %s)",
        (tenant_id, hash_refresh_token(token), session_id, now),
    )
    return token


def start(conn, tenant_id, user_id, now, ttl) -> tuple[str, str]:
    """A new session for the user: (session id, its first refresh token)."""
    session_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO sessions (tenant_id, session_id, user_id, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, session_id, user_id, now, now + ttl),
    )
    return session_id, _issue(conn, tenant_id, session_id, now)


def _live_token(conn, refresh_token):
    return conn.execute(
        "SELECT t.session_id, s.user_id, t.rotated_at, s.revoked_at, s.expires_at"
        " FROM refresh_tokens t JOIN sessions s USING (tenant_id, session_id)"
        " WHERE t.token_hash = %s FOR UPDATE OF t, s",
        (hash_refresh_token(refresh_token),),
    ).fetchone()


def refresh(conn, tenant_id, refresh_token, now) -> Refreshed:
    """Rotate the token; on reuse revoke the family and say so (the caller must still commit)."""
    row = _live_token(conn, refresh_token)
    if row is None:
        raise InvalidRefreshToken("the refresh token is not valid")
    session_id, user_id, rotated_at, revoked_at, expires_at = row
    session_id, user_id = str(session_id), str(user_id)
    if revoked_at is not None or expires_at <= now:
        raise InvalidRefreshToken("the session has ended")
    if rotated_at is not None:
        revoke(conn, session_id, REUSED, now)
        return Refreshed(session_id, user_id, None, reused=True)
    conn.execute(
        "UPDATE refresh_tokens SET rotated_at = %s WHERE token_hash = %s",
        (now, hash_refresh_token(refresh_token)),
    )
    return Refreshed(session_id, user_id, _issue(conn, tenant_id, session_id, now))


def session_of(conn, refresh_token) -> tuple[str, str] | None:
    """(session id, user id) of a token whose session is still open, rotated or not."""
    row = _live_token(conn, refresh_token)
    if row is None or row[3] is not None:
        return None
    return str(row[0]), str(row[1])


def revoke(conn, session_id, reason, now) -> bool:
    return (
        conn.execute(
            "UPDATE sessions SET revoked_at = %s, revoked_reason = %s"
            " WHERE session_id = %s AND revoked_at IS NULL",
            (now, reason, session_id),
        ).rowcount
        == 1
    )


def revoke_all(conn, user_id, reason, now) -> list[str]:
    rows = conn.execute(
        "UPDATE sessions SET revoked_at = %s, revoked_reason = %s"
        " WHERE user_id = %s AND revoked_at IS NULL RETURNING session_id",
        (now, reason, user_id),
    ).fetchall()
    return [str(row[0]) for row in rows]


def list_for(conn, user_id) -> list[dict]:
    rows = conn.execute(
        "SELECT session_id, created_at, expires_at, revoked_at, revoked_reason"
        " FROM sessions WHERE user_id = %s ORDER BY created_at",
        (user_id,),
    ).fetchall()
    return [
        {
            "id": str(sid),
            "created_at": created,
            "expires_at": expires,
            "revoked_at": revoked,
            "revoked_reason": reason,
        }
        for sid, created, expires, revoked, reason in rows
    ]


# --- Microsoft sign-ins in flight (platform rows) ----------------------------------------------


def save_flow(conn, flow: dict) -> None:
    conn.execute(
        "INSERT INTO login_flows (tenant_id, state, flow) VALUES (%s, %s, %s)",
        (PLATFORM_TENANT, flow["state"], Jsonb(flow)),
    )


def take_flow(conn, state: str, now, ttl) -> dict | None:
    """The flow started with ``state``, consumed: a state is good for one callback only."""
    conn.execute("DELETE FROM login_flows WHERE created_at < %s", (now - ttl,))
    row = conn.execute(
        "DELETE FROM login_flows WHERE state = %s RETURNING flow", (state,)
    ).fetchone()
    return row[0] if row else None
