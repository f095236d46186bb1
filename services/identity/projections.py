"""Identity's read models kept by its events: which event writes what (the SQL is in store)."""

from datetime import datetime

from services.identity import credentials, domain, store

SIGNED_IN, PROFILE_RECTIFIED = "user_signed_in", "user_profile_rectified"


def _tenant_created(conn, envelope, profile) -> None:
    data = envelope.data
    store.insert_tenant(
        conn,
        envelope.tenant_id,
        data["kind"],
        data["name"],
        data["provider"],
        envelope.stream_version,
        envelope.occurred_at,
    )


def _user_joined(conn, envelope, profile) -> None:
    data = envelope.data
    store.insert_user(
        conn,
        envelope.tenant_id,
        data["user_id"],
        profile.get("name"),
        profile.get("email"),
        data["roles"],
        data["provider"],
        envelope.occurred_at,
    )


def _roles_changed(conn, envelope, profile) -> None:
    store.set_roles(conn, envelope.data["user_id"], envelope.data["roles"])


def _erased(conn, envelope, profile) -> None:
    store.clear_roles(conn, envelope.data["user_id"])


def _signed_in(conn, envelope, profile) -> None:
    store.record_sign_in(conn, envelope.data["user_id"], envelope.occurred)


def _rectified(conn, envelope, profile) -> None:
    store.rectify_profile(conn, envelope.data["user_id"], profile)


def _account_created(conn, envelope, kept) -> None:
    data = envelope.data
    credentials.insert_account(
        conn,
        envelope.tenant_id,
        data["service_account_id"],
        data["name"],
        data["roles"],
        envelope.occurred,
    )
    _secret_added(conn, envelope, kept)


def _secret_added(conn, envelope, kept) -> None:
    data = envelope.data
    for entry in data.get("shortened", ()):
        credentials.set_secret_expiry(
            conn, entry["secret_id"], datetime.fromisoformat(entry["expires_at"])
        )
    credentials.insert_secret(
        conn,
        envelope.tenant_id,
        data["service_account_id"],
        data["secret_id"],
        kept["secret_hash"],
        envelope.occurred,
        datetime.fromisoformat(data["expires_at"]),
    )


def _account_revoked(conn, envelope, kept) -> None:
    credentials.revoke(conn, envelope.data["service_account_id"], envelope.occurred)


_PROJECTIONS = {
    domain.TENANT_CREATED: _tenant_created,
    domain.USER_JOINED: _user_joined,
    domain.MEMBER_ROLES_CHANGED: _roles_changed,
    domain.MEMBER_ERASED: _erased,
    SIGNED_IN: _signed_in,
    PROFILE_RECTIFIED: _rectified,
    domain.SERVICE_ACCOUNT_CREATED: _account_created,
    domain.SERVICE_ACCOUNT_SECRET_ADDED: _secret_added,
    domain.SERVICE_ACCOUNT_REVOKED: _account_revoked,
}


def project(conn, envelope, profile=None) -> None:
    """Apply one stored event (its stream version set) to the read models; ``profile`` holds
    what a read model keeps that the event does not carry: its opened pii, where a read model
    keeps a personal field in plaintext, or a new client secret's hash."""
    apply = _PROJECTIONS.get(envelope.name)
    if apply:
        apply(conn, envelope, profile or {})
    if envelope.stream_id.startswith("tenant-"):
        store.set_tenant_version(conn, envelope.stream_version)
