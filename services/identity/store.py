"""Identity's read models and sign-in directory: SQL only, in the caller's transaction.

Why a tenant-agnostic directory: a sign-in knows the external account and organization but
not yet the DZDesk tenant, and RLS hides every tenant row until the tenant is set. The two
directory tables (``external_identities``, ``organizations``) map a keyed HMAC of the account
or organization key to opaque tenant and user ids, and nothing else: no email, no name, no
domain, no provider subject. Their policies let any transaction look a hash up but let a
transaction insert or delete only rows of its own tenant. That was preferred over a SECURITY
DEFINER function because the grants and policies say in the schema exactly what the app role
can do, and the claim (insert) happens in the same transaction as the tenant's events, so a
failed sign-in leaves no row behind.
"""

import uuid

from services.identity.exceptions import SignInRaced
from shared.crypto import ERASED


def tenant_stream(tenant_id) -> str:
    return f"tenant-{tenant_id}"


def user_stream(user_id) -> str:
    return f"user-{user_id}"


def session_stream(session_id) -> str:
    return f"session-{session_id}"


def lock_members(conn, lock=True) -> dict:
    """{user id: roles} of the tenant's members (erased ones have none), read after locking
    the tenant's row: changes that could remove an admin take this lock in turn, so two of
    them never both count on the other's admin. Joining takes no lock (it adds no admin)."""
    if lock:
        conn.execute("SELECT 1 FROM tenants FOR UPDATE")
    rows = conn.execute("SELECT user_id, roles FROM users WHERE roles <> '{}'").fetchall()
    return {str(user_id): tuple(roles) for user_id, roles in rows}


def release_organization(conn) -> int:
    """Forget which organization the tenant serves: its next sign-in founds a new tenant."""
    return conn.execute(
        "DELETE FROM organizations WHERE tenant_id ="
        " NULLIF(current_setting('app.tenant_id', true), '')::uuid"
    ).rowcount


# --- directory -------------------------------------------------------------------------------


def find_account(conn, account_hash) -> tuple[str, str] | None:
    row = conn.execute(
        "SELECT tenant_id, user_id FROM external_identities WHERE account_hash = %s",
        (account_hash,),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def find_organization(conn, org_hash) -> str | None:
    row = conn.execute(
        "SELECT tenant_id FROM organizations WHERE org_hash = %s", (org_hash,)
    ).fetchone()
    return str(row[0]) if row else None


def _claim(conn, statement, params):
    # ON CONFLICT waits for a concurrent claimant and then inserts nothing: that sign-in won.
    if conn.execute(statement, params).fetchone() is None:
        raise SignInRaced("a concurrent first sign-in of this account or organization won; retry")


def claim_account(conn, account_hash, provider, tenant_id, user_id) -> None:
    _claim(
        conn,
        "INSERT INTO external_identities (account_hash, provider, tenant_id, user_id)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (account_hash, provider, tenant_id, user_id),
    )


def claim_organization(conn, org_hash, provider, tenant_id) -> None:
    _claim(
        conn,
        "INSERT INTO organizations (org_hash, provider, tenant_id) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (org_hash, provider, tenant_id),
    )


def hold_organization(conn, org_hash, tenant_id) -> None:
    """Join only a tenant that still serves the organization: the share lock waits for an
    erasure of its last member (which locks the row for update and may release it)."""
    conn.execute("SELECT 1 FROM tenants FOR KEY SHARE")
    if find_organization(conn, org_hash) != str(tenant_id):
        raise SignInRaced("the organization's tenant was released meanwhile; sign in again")


def unlink_accounts(conn, user_id) -> int:
    return conn.execute("DELETE FROM external_identities WHERE user_id = %s", (user_id,)).rowcount


def linked_provider(conn, user_id) -> str | None:
    row = conn.execute(
        "SELECT provider FROM external_identities WHERE user_id = %s", (user_id,)
    ).fetchone()
    return row[0] if row else None


# --- read models (projections.py says which event writes what) -----------------------------


def insert_tenant(conn, tenant_id, kind, name, provider, version, created_at) -> None:
    conn.execute(
        "INSERT INTO tenants (tenant_id, kind, name, provider, version, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (tenant_id, kind, name, provider, version, created_at),
    )


def set_tenant_version(conn, version) -> None:
    conn.execute("UPDATE tenants SET version = %s", (version,))


def insert_user(conn, tenant_id, user_id, name, email, roles, provider, joined_at) -> None:
    conn.execute(
        "INSERT INTO users (tenant_id, user_id, name, email, roles, provider, joined_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (tenant_id, user_id, name, email, roles, provider, joined_at),
    )


def set_roles(conn, user_id, roles) -> None:
    conn.execute("UPDATE users SET roles = %s WHERE user_id = %s", (roles, user_id))


def clear_roles(conn, user_id) -> None:
    conn.execute("UPDATE users SET roles = '{}' WHERE user_id = %s", (user_id,))


def record_sign_in(conn, user_id, at) -> None:
    conn.execute("UPDATE users SET last_sign_in_at = %s WHERE user_id = %s", (at, user_id))


def rectify_profile(conn, user_id, changes) -> int:
    return conn.execute(
        "UPDATE users SET name = coalesce(%s, name), email = coalesce(%s, email)"
        " WHERE user_id = %s AND erased_at IS NULL",
        (changes.get("name"), changes.get("email"), user_id),
    ).rowcount


def erase_profile(conn, user_id) -> int:
    """Replace the plaintext profile; 0 when there was none left to erase."""
    return conn.execute(
        "UPDATE users SET name = %s, email = %s, erased_at = coalesce(erased_at, now())"
        " WHERE user_id = %s AND (name IS DISTINCT FROM %s OR email IS DISTINCT FROM %s)",
        (ERASED, ERASED, user_id, ERASED, ERASED),
    ).rowcount


# --- queries ---------------------------------------------------------------------------------

_USER_COLUMNS = "user_id, name, email, roles, provider, joined_at, last_sign_in_at, erased_at"


def _user(row) -> dict:
    user_id, name, email, roles, provider, joined_at, last_sign_in_at, erased_at = row
    return {
        "id": str(user_id),
        "name": name,
        "email": email,
        "roles": sorted(roles),
        "provider": provider,
        "joined_at": joined_at,
        "last_sign_in_at": last_sign_in_at,
        "erased_at": erased_at,
    }


def public_user(user: dict) -> dict:
    return {key: user[key] for key in ("id", "name", "email", "roles")}


def get_user(conn, user_id) -> dict | None:
    try:
        user_id = uuid.UUID(str(user_id))
    except ValueError:
        return None
    row = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = %s", (user_id,)
    ).fetchone()
    return _user(row) if row else None


def _uuids(values) -> list[uuid.UUID]:
    valid = []
    for value in values:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # an id that cannot exist matches nothing
    return valid


def get_users(conn, user_ids) -> list[dict]:
    rows = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ANY(%s::uuid[])"
        " ORDER BY joined_at, user_id",
        (_uuids(user_ids),),
    ).fetchall()
    return [_user(row) for row in rows]


def list_users(conn, limit=None, after=None) -> list[dict]:
    """Members in join order; ``after`` is the (joined_at, user_id) of the last one seen."""
    query, params = f"SELECT {_USER_COLUMNS} FROM users", []
    if after:
        query += " WHERE (joined_at, user_id) > (%s::timestamptz, %s::uuid)"
        params += list(after)
    query += " ORDER BY joined_at, user_id"
    if limit:
        query += " LIMIT %s"
        params.append(limit)
    return [_user(row) for row in conn.execute(query, params).fetchall()]


def get_tenant(conn) -> dict | None:
    row = conn.execute(
        "SELECT tenant_id, kind, name, provider, version, created_at FROM tenants"
    ).fetchone()
    if row is None:
        return None
    tenant_id, kind, name, provider, version, created_at = row
    return {
        "id": str(tenant_id),
        "name": name,
        "kind": kind,
        "provider": provider,
        "version": version,
        "created_at": created_at,
    }


def subject_events(conn, user_id) -> list[dict]:
    """Stored envelopes about the user (their pii still sealed), oldest first."""
    rows = conn.execute(
        "SELECT envelope FROM events WHERE envelope->'data'->>'user_id' = %s ORDER BY position",
        (str(user_id),),
    ).fetchall()
    return [row[0] for row in rows]
