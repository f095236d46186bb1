"""The caller, their tenant and its members: local token checks, reads and role changes."""

from services.identity import domain, keystore, store
from services.identity.exceptions import (
    InvalidRoles,
    LastAdminRequired,
    StalePrecondition,
    UserNotFound,
)
from services.identity.tokens import jwks
from shared.auth import Principal, TokenVerifier, bearer_token
from shared.envelope import PLATFORM_TENANT


class _PublishedKeys:
    """The key set TokenVerifier consults, read from identity's own database, not over HTTP."""

    def __init__(self, document: dict):
        self._keys = {key["kid"]: key for key in document["keys"]}

    def jwk(self, kid: str) -> dict:
        return self._keys[kid]

    def close(self) -> None:
        pass


def published_keys(ctx) -> dict:
    """The JWK Set: next, current and retired keys whose tokens may still be alive."""
    ring = keystore.load_ring(ctx.directory.begin(PLATFORM_TENANT), ctx.settings.vault, ctx.now)
    return jwks(ring.published(ctx.now, ctx.settings.retired_key_retention))


def principal(ctx, request) -> Principal:
    """The caller of an identity endpoint, checked exactly as shared.auth does elsewhere."""
    token = bearer_token(request.headers.get("Authorization"))
    verifier = TokenVerifier(
        "", ctx.settings.issuer, ctx.settings.audience, keys=_PublishedKeys(published_keys(ctx))
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


def change_roles(
    ctx, caller: Principal, user_id: str, roles, expected_version=None
) -> tuple[dict, int]:
    """Set a member's roles in the caller's tenant; (member, new member stream version)."""
    conn = ctx.db.begin(caller.tenant_id)
    if store.get_user(conn, user_id) is None:
        raise UserNotFound("no such member")  # another tenant's user is simply not there
    members = store.lock_members(conn)
    version, member = store.load_member(ctx.db, str(user_id))
    if expected_version is not None and expected_version != version:
        raise StalePrecondition(f"the member is at version {version}, not {expected_version}")
    try:
        decisions = domain.change_roles(member, roles, members)
    except domain.LastAdmin as exc:
        raise LastAdminRequired(str(exc)) from exc
    except domain.NotAMember as exc:
        raise UserNotFound("no such member") from exc
    except domain.UnknownRole as exc:
        raise InvalidRoles(str(exc)) from exc
    stream = store.user_stream(str(user_id))
    actor = {"user_id": caller.user_id, "roles": sorted(caller.roles)}
    envelopes = [ctx.db.new_event(d.name, stream, d.data, actor=actor) for d in decisions]
    new_version = ctx.db.append(stream, version, envelopes)
    for offset, envelope in enumerate(envelopes, 1):
        store.project(conn, envelope.with_version(version + offset))
    return store.public_user(store.get_user(conn, user_id)), new_version


def check_erasable(ctx, caller: Principal) -> None:
    """409 when erasing the caller now would leave their tenant without an admin."""
    conn = ctx.db.begin(caller.tenant_id)
    members = store.lock_members(conn, lock=False)  # the erasure itself checks again, locked
    _, member = store.load_member(ctx.db, caller.user_id)
    try:
        domain.check_erasable(member, members)
    except domain.LastAdmin as exc:
        raise LastAdminRequired(str(exc)) from exc
