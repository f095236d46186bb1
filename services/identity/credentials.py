"""SQL of service accounts and their client secrets, and the credentials' own format.

A client id reads ``<tenant id>.<service account id>``: like a refresh token, the tenant part
lets the grant open the tenant's transaction (RLS) before anything is looked up. A client
secret is 256 random bits; only its SHA-256 is stored (no slow KDF: nobody guesses 256 bits),
and a presented secret is compared with each live hash in constant time.
"""

import hashlib
import hmac
import secrets
import uuid

from shared.auth import is_service_account_id

SECRET_PREFIX = "dzs_"


def client_id(tenant_id, account_id) -> str:
    return f"{tenant_id}.{account_id}"


def parse_client_id(value: str) -> tuple[str, str] | None:
    """(tenant id, service account id) of a well-formed client id, else None."""
    tenant, _, account = (value or "").partition(".")
    try:
        if str(uuid.UUID(tenant)) != tenant or not is_service_account_id(account):
            return None
    except ValueError:
        return None
    return tenant, str(uuid.UUID(account))


def new_secret() -> tuple[str, str]:
    """A fresh client secret and the hash that is stored."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, hashes) -> bool:
    """Whether `secret` is one of `hashes`; every hash is compared, each in constant time."""
    presented = hash_secret(secret).encode()
    found = False
    for stored in hashes:
        found |= hmac.compare_digest(presented, stored.encode())
    return found


def stream(account_id) -> str:
    return f"service-account-{account_id}"


# --- read models (projections.py says which event writes what) -------------------------------


def insert_account(conn, tenant_id, account_id, name, roles, created_at) -> None:
    conn.execute(
        "INSERT INTO service_accounts (tenant_id, account_id, name, roles, created_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, account_id, name, roles, created_at),
    )


def insert_secret(conn, tenant_id, account_id, secret_id, secret_hash, created_at, expires_at):
    conn.execute(
        "INSERT INTO service_account_secrets"
        " (tenant_id, secret_id, account_id, secret_hash, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (tenant_id, secret_id, account_id, secret_hash, created_at, expires_at),
    )


def set_secret_expiry(conn, secret_id, expires_at) -> None:
    conn.execute(
        "UPDATE service_account_secrets SET expires_at = %s WHERE secret_id = %s",
        (expires_at, secret_id),
    )


def revoke(conn, account_id, at) -> None:
    conn.execute(
        "UPDATE service_accounts SET revoked_at = %s WHERE account_id = %s", (at, account_id)
    )
    conn.execute(
        "UPDATE service_account_secrets SET expires_at = least(expires_at, %s)"
        " WHERE account_id = %s",
        (at, account_id),
    )


def record_use(conn, account_id, at) -> None:
    # a read model of the grant, not an event: a token every few minutes is no fact to keep
    conn.execute(
        "UPDATE service_accounts SET last_used_at = greatest(last_used_at, %s)"
        " WHERE account_id = %s",
        (at, account_id),
    )


# --- queries ---------------------------------------------------------------------------------

_COLUMNS = "account_id, name, roles, created_at, revoked_at, last_used_at"


def _account(row) -> dict:
    account_id, name, roles, created_at, revoked_at, last_used_at = row
    return {
        "id": str(account_id),
        "name": name,
        "roles": sorted(roles),
        "created_at": created_at,
        "revoked_at": revoked_at,
        "last_used_at": last_used_at,
    }


def get_account(conn, account_id, lock=False) -> dict | None:
    if not is_service_account_id(account_id):
        return None
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM service_accounts WHERE account_id = %s"
        + (" FOR UPDATE" if lock else ""),
        (str(account_id),),
    ).fetchone()
    return _account(row) if row else None


def list_accounts(conn, limit, after=None) -> list[dict]:
    """Service accounts in creation order; ``after`` is the (created_at, id) last seen."""
    query, params = f"SELECT {_COLUMNS} FROM service_accounts", []
    if after:
        query += " WHERE (created_at, account_id) > (%s::timestamptz, %s::uuid)"
        params += list(after)
    query += " ORDER BY created_at, account_id LIMIT %s"
    params.append(limit)
    return [_account(row) for row in conn.execute(query, params).fetchall()]


def secrets_of(conn, account_ids) -> dict[str, list[dict]]:
    """{account id: [{id, created_at, expires_at}]} oldest first (never a hash)."""
    rows = conn.execute(
        "SELECT account_id, secret_id, created_at, expires_at FROM service_account_secrets"
        " WHERE account_id = ANY(%s::uuid[]) ORDER BY created_at, secret_id",
        ([str(account_id) for account_id in account_ids],),
    ).fetchall()
    found = {str(account_id): [] for account_id in account_ids}
    for account_id, secret_id, created_at, expires_at in rows:
        found[str(account_id)].append(
            {"id": str(secret_id), "created_at": created_at, "expires_at": expires_at}
        )
    return found


def live_hashes(conn, account_id, now) -> list[str]:
    rows = conn.execute(
        "SELECT s.secret_hash FROM service_account_secrets s"
        " JOIN service_accounts a USING (tenant_id, account_id)"
        " WHERE s.account_id = %s AND s.expires_at > %s AND a.revoked_at IS NULL",
        (account_id, now),
    ).fetchall()
    return [row[0] for row in rows]
