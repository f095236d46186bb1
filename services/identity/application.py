"""Identity's application: load a member, decide, append, project; sign-in and sessions too."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.identity import domain, keystore, projections, sessions, store
from services.identity.exceptions import (
    InvalidRefreshToken,
    InvalidRoles,
    LastAdminRequired,
    StalePrecondition,
    UserNotFound,
)
from services.identity.federation import ExternalIdentity
from services.identity.tokens import mint_access_token
from shared.auth import Principal, TokenVerifier, bearer_token
from shared.envelope import PLATFORM_TENANT, actor_of, person_actor, system_actor

PERSONAL_TENANT_NAME = "Personal workspace"
SESSION_REFRESHED, SESSION_REVOKED = "session_refreshed", "session_revoked"


@dataclass(frozen=True)
class Context:
    """What one worker brings: its tenant unit of work, its platform unit (the directory, key
    ring and sign-ins in flight, needed before the tenant is known), the subject keys, identity's
    vault and settings, and the worker's clock."""

    db: object
    directory: object
    cipher: object
    vault: object
    settings: object
    now: datetime


@dataclass(frozen=True)
class SignedIn:
    """New tokens and who they are for (schemas.TokensSchema is the body they answer)."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: dict
    tenant: dict


# --- members: load, decide, append, project ---------------------------------------------------


def load_member(unit, user_id) -> domain.Member | None:
    """The member folded from their own stream; None when it holds no event."""
    return domain.replay(
        domain.RecordedEvent(envelope.name, envelope.data, envelope.stream_version)
        for envelope in unit.load(store.user_stream(user_id))
    )


def decide(member, command, members=None) -> list[domain.NewEvent]:
    """domain.decide, its refusals as identity's HTTP errors."""
    try:
        return domain.decide(member, command, members)
    except domain.LastAdmin as exc:
        raise LastAdminRequired(str(exc)) from exc
    except domain.NotAMember as exc:
        raise UserNotFound("no such member") from exc
    except domain.UnknownRole as exc:
        raise InvalidRoles(str(exc)) from exc


def record(ctx, user_id, version, decided, actor) -> int:
    """Append the decided events to the member's stream at `version`, project them; returns
    the stream's new version."""
    stream = store.user_stream(user_id)
    envelopes = [ctx.db.new_event(e.type, stream, e.data, actor=actor) for e in decided]
    new_version = ctx.db.append(stream, version, envelopes)
    for offset, envelope in enumerate(envelopes, 1):
        projections.project(ctx.db.conn, envelope.with_version(version + offset))
    return new_version


def change_roles(
    ctx, caller: Principal, user_id: str, roles, expected_version=None
) -> tuple[dict, int]:
    """Set a member's roles in the caller's tenant; (member, new member stream version)."""
    conn = ctx.db.begin(caller.tenant_id)
    if store.get_user(conn, user_id) is None:
        raise UserNotFound("no such member")  # another tenant's user is simply not there
    members = store.lock_members(conn)
    member = load_member(ctx.db, str(user_id))
    version = member.version if member else 0
    if expected_version is not None and expected_version != version:
        raise StalePrecondition(f"the member is at version {version}, not {expected_version}")
    decided = decide(member, domain.ChangeRoles(user_id=str(user_id), roles=roles), members)
    new_version = record(ctx, str(user_id), version, decided, actor_of(caller))
    return store.public_user(store.get_user(conn, user_id)), new_version


def check_erasable(ctx, caller: Principal) -> None:
    """409 when erasing the caller now would leave their tenant without an admin."""
    conn = ctx.db.begin(caller.tenant_id)
    members = store.lock_members(conn, lock=False)  # the erasure itself checks again, locked
    member = load_member(ctx.db, caller.user_id)
    decide(member, domain.EraseMember(user_id=caller.user_id), members)


# --- the caller and their tenant ---------------------------------------------------------------


def published_keys(ctx) -> dict:
    """The JWK Set: next, current and retired keys whose tokens may still be alive."""
    conn = ctx.directory.begin(PLATFORM_TENANT)
    return keystore.published(conn, ctx.vault, ctx.now, ctx.settings.retired_key_retention)


def principal(ctx, request) -> Principal:
    """The caller of an identity endpoint, checked exactly as shared.auth does elsewhere."""
    token = bearer_token(request.headers.get("Authorization"))
    verifier = TokenVerifier(
        "",
        ctx.settings.token_issuer,
        ctx.settings.token_audience,
        keys=keystore.KeySet(published_keys(ctx)),
    )
    return verifier.verify(token)


def me(ctx, caller: Principal) -> dict:
    conn = ctx.db.begin(caller.tenant_id)
    user, tenant = store.get_user(conn, caller.user_id), store.get_tenant(conn)
    if user is None or tenant is None or user["erased_at"] is not None:
        raise UserNotFound("no such user")
    return {**store.public_user(user), "tenant": {"id": tenant["id"], "name": tenant["name"]}}


def tenant(ctx, caller: Principal) -> dict:
    found = store.get_tenant(ctx.db.begin(caller.tenant_id))
    if found is None:
        raise UserNotFound("no such tenant")
    return found


# --- signing in --------------------------------------------------------------------------------


def _tenant_name(ext: ExternalIdentity) -> str:
    if ext.personal:
        return PERSONAL_TENANT_NAME
    if ext.org_name:
        return ext.org_name
    # Microsoft sends no organization name; the email claim is unverified and is not used.
    return f"Microsoft Entra tenant {ext.account_key[1]}"


def _grant(ctx: Context, tenant: dict, user: dict, refresh_token: str) -> SignedIn:
    ring = keystore.load_ring(ctx.directory.begin(PLATFORM_TENANT), ctx.vault, ctx.now)
    access = mint_access_token(
        ring.current,
        ctx.settings.token_issuer,
        ctx.settings.token_audience,
        user["id"],
        tenant["id"],
        user["roles"],
        ctx.settings.access_token_ttl,
        ctx.now,
    )
    return SignedIn(
        access, refresh_token, ctx.settings.access_token_ttl, store.public_user(user), tenant
    )


def _device_pii(ctx: Context, tenant_id, user_id, device: dict) -> dict:
    fields = {name: (user_id, value) for name, value in device.items() if value}
    return ctx.cipher.seal(tenant_id, fields) if fields else None


def _resolve(ctx: Context, ext: ExternalIdentity):
    """(tenant id, user id or None, org hash or None, whether the sign-in creates the tenant)
    for a verified account."""
    vault, conn = ctx.vault, ctx.directory.begin(PLATFORM_TENANT)
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
        conn, ctx.vault.directory_hash(ext.account_key), ext.provider, tenant_id, user_id
    )
    command = (
        domain.CreateTenant(
            tenant_id=tenant_id,
            user_id=user_id,
            kind="personal" if ext.personal else "organization",
            name=_tenant_name(ext),
            provider=ext.provider,
        )
        if creates
        else domain.JoinTenant(user_id=user_id, provider=ext.provider)
    )
    decided = decide(None, command)  # the user id is new: their stream holds nothing yet
    actor = person_actor(user_id, decided[-1].data["roles"])
    profile = {"name": ext.name, "email": ext.email}
    for event in decided:
        pii = None
        if event.type == domain.USER_JOINED:
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
            if event.stream == domain.TENANT
            else store.user_stream(user_id)
        )
        envelope = ctx.db.new_event(event.type, stream, event.data, actor=actor, pii=pii)
        ctx.db.append(stream, 0, [envelope])  # both streams are new: version 0 admits one writer
        projections.project(conn, envelope.with_version(1), profile)
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
        projections.SIGNED_IN,
        store.session_stream(session_id),
        {"user_id": user_id, "session_id": session_id, "provider": ext.provider, "method": method},
        actor=person_actor(user_id, user["roles"]),
        pii=_device_pii(ctx, tenant_id, user_id, device),
    )
    ctx.db.append(signed_in.stream_id, 0, [signed_in])
    projections.project(conn, signed_in.with_version(1))
    return _grant(ctx, tenant, user, refresh_token)


def _session_event(ctx: Context, name, session_id, user: dict, data: dict, pii=None):
    stream = store.session_stream(session_id)
    event = ctx.db.new_event(
        name,
        stream,
        {"user_id": user["id"], "session_id": session_id, **data},
        actor=person_actor(user["id"], user["roles"]),
        pii=pii,
    )
    ctx.db.append_next(stream, [event])


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


def rotate_signing_keys(ctx: Context, due_after=None) -> dict:
    """Rotate (next -> current -> retired), or with `due_after` only once the next key has
    been published that long; the kids, and whether it rotated."""
    retention = ctx.settings.retired_key_retention
    ring, rotated = keystore.rotate(
        ctx.directory.begin(PLATFORM_TENANT),
        ctx.vault,
        ctx.now,
        retention,
        only_if_due_after=due_after,
    )
    summary = {
        "current": ring.current.kid,
        "next": ring.next.kid,
        "published": [key.kid for key in ring.published(ctx.now, retention)],
    }
    if rotated:
        event = ctx.directory.new_event(
            "signing_keys_rotated",
            "signing-keys",
            summary,
            actor=system_actor("identity-key-rotation"),
        )
        ctx.directory.append_next("signing-keys", [event])
    return {**summary, "rotated": rotated}
