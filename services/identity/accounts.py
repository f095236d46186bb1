"""Signing in, refreshing and signing out: the directory, the tenant aggregate, sessions and tokens."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.identity import domain, keystore, sessions, store
from services.identity.exceptions import InvalidRefreshToken
from services.identity.federation import ExternalIdentity
from services.identity.tokens import mint_access_token
from shared.envelope import PLATFORM_TENANT

PERSONAL_TENANT_NAME = "Personal workspace"
SESSION_STARTED, SESSION_REFRESHED, SESSION_REVOKED = (
    "user_signed_in",
    "session_refreshed",
    "session_revoked",
)


@dataclass(frozen=True)
class Context:
    """What one worker brings: its tenant unit of work, its platform unit, the cipher, settings."""

    db: object
    directory: object
    cipher: object
    settings: object
    now: datetime


@dataclass(frozen=True)
class SignedIn:
    body: dict
    refresh_token: str


def _tenant_name(ext: ExternalIdentity) -> str:
    if ext.personal:
        return PERSONAL_TENANT_NAME
    if ext.org_name:
        return ext.org_name
    # Microsoft sends no organization name; the email claim is unverified and is not used.
    return f"Microsoft Entra tenant {ext.account_key[1]}"


def _grant(ctx: Context, tenant: dict, user: dict, refresh_token: str) -> SignedIn:
    ring = keystore.load_ring(ctx.directory.begin(PLATFORM_TENANT), ctx.settings.vault, ctx.now)
    access = mint_access_token(
        ring.current,
        ctx.settings.issuer,
        ctx.settings.audience,
        user["id"],
        tenant["id"],
        user["roles"],
        ctx.settings.access_ttl,
        ctx.now,
    )
    body = {
        "access_token": access,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": ctx.settings.access_ttl,
        "user": store.public_user(user),
        "tenant": {"id": tenant["id"], "name": tenant["name"]},
    }
    return SignedIn(body, refresh_token)


def _device_pii(ctx: Context, tenant_id, user_id, device: dict) -> dict:
    fields = {name: (user_id, value) for name, value in device.items() if value}
    return ctx.cipher.seal(tenant_id, fields) if fields else None


def _resolve(ctx: Context, ext: ExternalIdentity):
    """(tenant id, user id or None, org hash or None, whether the sign-in creates the tenant)
    for a verified account."""
    vault, conn = ctx.settings.vault, ctx.directory.begin(PLATFORM_TENANT)
    found = store.find_account(conn, vault.directory_hash(ext.account_key))
    if found:
        return found[0], found[1], None, False
    if ext.org_key is None:
        return str(uuid.uuid4()), None, None, True
    org_hash = vault.directory_hash(("organization", ext.org_key))
    tenant_id = store.find_organization(conn, org_hash)
    return (
        (tenant_id, None, org_hash, False)
        if tenant_id
        else (str(uuid.uuid4()), None, org_hash, True)
    )


def _register(ctx: Context, tenant_id: str, org_hash, creates: bool, ext: ExternalIdentity) -> str:
    """Link the new account, create or join the tenant; returns the new user id.

    Only the sign-in that claims the organization (a unique row, so one of any number racing)
    creates the tenant and is its admin; the others lose the claim, are signed in again by the
    entrypoint's retry and join. Joining appends to the member's own stream only.
    """
    conn, user_id = ctx.db.conn, str(uuid.uuid4())
    if creates and org_hash:
        store.claim_organization(conn, org_hash, ext.provider, tenant_id)
    elif org_hash:
        store.hold_organization(conn, org_hash, tenant_id)
    store.claim_account(
        conn, ctx.settings.vault.directory_hash(ext.account_key), ext.provider, tenant_id, user_id
    )
    decisions = domain.sign_up(
        tenant_id,
        user_id,
        creates_tenant=creates,
        kind="personal" if ext.personal else "organization",
        name=_tenant_name(ext),
        provider=ext.provider,
    )
    actor = {"user_id": user_id, "roles": decisions[-1].data["roles"]}
    profile = {"name": ext.name, "email": ext.email}
    for decision in decisions:
        pii = None
        if decision.name == domain.USER_JOINED:
            pii = ctx.cipher.seal(
                tenant_id,
                {
                    "name": (user_id, ext.name),
                    "email": (user_id, ext.email),
                    "account_key": (user_id, list(ext.account_key)),
                },
            )
        stream = (
            store.tenant_stream(tenant_id)
            if decision.stream == "tenant"
            else store.user_stream(user_id)
        )
        envelope = ctx.db.new_event(decision.name, stream, decision.data, actor=actor, pii=pii)
        ctx.db.append(stream, 0, [envelope])  # both streams are new: version 0 admits one writer
        store.project(conn, envelope.with_version(1), profile)
    return user_id


def sign_in(ctx: Context, ext: ExternalIdentity, device: dict, method: str) -> SignedIn:
    """A verified external account signs in: find or create its user, start a session."""
    tenant_id, user_id, org_hash, creates = _resolve(ctx, ext)
    conn = ctx.db.begin(tenant_id)
    if user_id is None:
        user_id = _register(ctx, tenant_id, org_hash, creates, ext)
    user, tenant = store.get_user(conn, user_id), store.get_tenant(conn)
    session_id, refresh_token = sessions.start(
        conn, tenant_id, user_id, ctx.now, ctx.settings.refresh_ttl
    )
    signed_in = ctx.db.new_event(
        SESSION_STARTED,
        store.session_stream(session_id),
        {"user_id": user_id, "session_id": session_id, "provider": ext.provider, "method": method},
        actor={"user_id": user_id, "roles": user["roles"]},
        pii=_device_pii(ctx, tenant_id, user_id, device),
    )
    ctx.db.append(signed_in.stream_id, 0, [signed_in])
    store.record_sign_in(conn, user_id, ctx.now)
    return _grant(ctx, tenant, user, refresh_token)


def _session_event(ctx: Context, name, session_id, user: dict, data: dict, pii=None):
    stream = store.session_stream(session_id)
    event = ctx.db.new_event(
        name,
        stream,
        {"user_id": user["id"], "session_id": session_id, **data},
        actor={"user_id": user["id"], "roles": user["roles"]},
        pii=pii,
    )
    ctx.db.append(stream, ctx.db.version(stream), [event])


def refresh(ctx: Context, refresh_token: str, device: dict) -> SignedIn | None:
    """New tokens for a live refresh token; None when it was reused (its family is now revoked)."""
    tenant_id = sessions.tenant_of(refresh_token)
    conn = ctx.db.begin(tenant_id)
    outcome = sessions.refresh(conn, tenant_id, refresh_token, ctx.now)
    user = store.get_user(conn, outcome.user_id)
    if user is None:
        raise InvalidRefreshToken("the refresh token is not valid")
    if outcome.reused:
        _session_event(ctx, SESSION_REVOKED, outcome.session_id, user, {"reason": sessions.REUSED})
        return None
    if user["erased_at"] is not None or not user["roles"]:
        raise InvalidRefreshToken("the session has ended")
    _session_event(
        ctx,
        SESSION_REFRESHED,
        outcome.session_id,
        user,
        {},
        pii=_device_pii(ctx, tenant_id, user["id"], device),
    )
    return _grant(ctx, store.get_tenant(conn), user, outcome.refresh_token)


def sign_out(ctx: Context, refresh_token: str) -> bool:
    """Revoke the token's session; True when a session ended (unknown tokens are no error)."""
    try:
        tenant_id = sessions.tenant_of(refresh_token)
    except InvalidRefreshToken:
        return False
    conn = ctx.db.begin(tenant_id)
    found = sessions.session_of(conn, refresh_token)
    if found is None or not sessions.revoke(conn, found[0], sessions.LOGOUT, ctx.now):
        return False
    user = store.get_user(conn, found[1])
    _session_event(ctx, SESSION_REVOKED, found[0], user, {"reason": sessions.LOGOUT})
    return True
