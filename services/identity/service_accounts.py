"""Service accounts: create, list, rotate and revoke them; the client-credentials grant.

An account's stream (`service-account-<id>`) is decided by the domain (domain/service_accounts
.py) and projected to its read model; its secrets' hashes reach the read model only (never an
event, which other services and the audit trail receive). The grant is RFC 6749 section 4.4:
it issues an ordinary access token of the tenant whose subject is the account and whose `kind`
claim says so, so every service's actor for it is `{"service_account": id}`.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from services.identity import credentials, domain, keystore, projections
from services.identity.exceptions import (
    InvalidServiceAccount,
    OAuthError,
    ServiceAccountNotFound,
    TooManySecrets,
)
from services.identity.tokens import mint_access_token
from shared.auth import SERVICE_ACCOUNT, Principal, new_service_account_id
from shared.envelope import PLATFORM_TENANT, actor_of

# How long a secret is accepted unless the admin says otherwise, and how long the previous one
# stays live after a rotation (time to roll the new one out).
SECRET_TTL = timedelta(days=365)
ROTATION_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class Granted:
    access_token: str
    expires_in: int
    scope: str


def _load(unit, account_id) -> domain.ServiceAccount | None:
    return domain.replay(
        domain.RecordedEvent(envelope.name, envelope.data, envelope.stream_version)
        for envelope in unit.load(credentials.stream(account_id))
    )


def _decide(state, command) -> list[domain.NewEvent]:
    try:
        return domain.decide(state, command)
    except (domain.ForbiddenRole, domain.UnknownRole) as exc:
        raise InvalidServiceAccount(str(exc), field="roles") from exc
    except domain.UnknownServiceAccount as exc:
        raise ServiceAccountNotFound("no such service account") from exc
    except domain.TooManySecrets as exc:
        raise TooManySecrets(str(exc)) from exc


def _record(ctx, caller: Principal, account_id, version, decided, kept=None) -> None:
    stream = credentials.stream(account_id)
    envelopes = [ctx.db.new_event(e.type, stream, e.data, actor=actor_of(caller)) for e in decided]
    ctx.db.append(stream, version, envelopes)
    for offset, envelope in enumerate(envelopes, 1):
        projections.project(ctx.db.conn, envelope.with_version(version + offset), kept)


def _view(account: dict, secrets: list[dict], tenant_id) -> dict:
    return {
        **account,
        "client_id": credentials.client_id(tenant_id, account["id"]),
        "secrets": secrets,
    }


def create(ctx, caller: Principal, name: str, roles, expires_in: timedelta | None = None):
    """A new service account and its first secret: (the account, the secret shown once)."""
    conn = ctx.db.begin(caller.tenant_id)
    account_id, secret_id = new_service_account_id(), str(uuid.uuid4())
    secret, secret_hash = credentials.new_secret()
    command = domain.CreateServiceAccount(
        account_id=account_id,
        name=name,
        roles=roles,
        secret_id=secret_id,
        now=ctx.now,
        expires_at=ctx.now + (expires_in or SECRET_TTL),
    )
    _record(ctx, caller, account_id, 0, _decide(None, command), {"secret_hash": secret_hash})
    return show(ctx, caller, account_id, conn), secret


def show(ctx, caller: Principal, account_id, conn=None) -> dict:
    conn = conn or ctx.db.begin(caller.tenant_id)
    account = credentials.get_account(conn, account_id)
    if account is None:
        raise ServiceAccountNotFound("no such service account")
    secrets = credentials.secrets_of(conn, [account["id"]])[account["id"]]
    return _view(account, secrets, caller.tenant_id)


def listed(ctx, caller: Principal, limit, after) -> list[dict]:
    conn = ctx.db.begin(caller.tenant_id)
    accounts = credentials.list_accounts(conn, limit, after)
    secrets = credentials.secrets_of(conn, [account["id"] for account in accounts])
    return [_view(account, secrets[account["id"]], caller.tenant_id) for account in accounts]


def rotate(ctx, caller: Principal, account_id, expires_in=None, previous_expires_in=None):
    """A second live secret; the live one expires `previous_expires_in` from now at the
    latest. (the account, the new secret shown once)."""
    conn = ctx.db.begin(caller.tenant_id)
    if credentials.get_account(conn, account_id, lock=True) is None:
        raise ServiceAccountNotFound("no such service account")
    state = _load(ctx.db, account_id)
    secret, secret_hash = credentials.new_secret()
    overlap = ROTATION_OVERLAP if previous_expires_in is None else previous_expires_in
    command = domain.AddSecret(
        account_id=str(account_id),
        secret_id=str(uuid.uuid4()),
        now=ctx.now,
        expires_at=ctx.now + (expires_in or SECRET_TTL),
        previous_expires_at=ctx.now + overlap,
    )
    decided = _decide(state, command)
    _record(ctx, caller, account_id, state.version, decided, {"secret_hash": secret_hash})
    return show(ctx, caller, account_id, conn), secret


def revoke(ctx, caller: Principal, account_id) -> None:
    conn = ctx.db.begin(caller.tenant_id)
    if credentials.get_account(conn, account_id, lock=True) is None:
        raise ServiceAccountNotFound("no such service account")
    state = _load(ctx.db, account_id)
    decided = _decide(state, domain.RevokeServiceAccount(account_id=str(account_id)))
    _record(ctx, caller, account_id, state.version, decided)


def _invalid_client() -> OAuthError:
    # one answer for an unknown client, a wrong or expired secret and a revoked account: the
    # caller learns nothing about which client ids exist
    return OAuthError("invalid_client", "client authentication failed", 401)


def grant(ctx, client_id: str, client_secret: str) -> Granted:
    """RFC 6749 section 4.4: an access token for a service account's valid credentials."""
    parsed = credentials.parse_client_id(client_id)
    if parsed is None or not client_secret:
        raise _invalid_client()
    tenant_id, account_id = parsed
    conn = ctx.db.begin(tenant_id)
    account = credentials.get_account(conn, account_id)
    hashes = credentials.live_hashes(conn, account_id, ctx.now) if account else []
    if not credentials.matches(client_secret, hashes):
        raise _invalid_client()
    credentials.record_use(conn, account_id, ctx.now)
    ring = keystore.load_ring(ctx.directory.begin(PLATFORM_TENANT), ctx.vault, ctx.now)
    token = mint_access_token(
        ring.current,
        ctx.settings.token_issuer,
        ctx.settings.token_audience,
        account_id,
        tenant_id,
        account["roles"],
        ctx.settings.access_token_ttl,
        ctx.now,
        kind=SERVICE_ACCOUNT,
    )
    return Granted(token, ctx.settings.access_token_ttl, " ".join(account["roles"]))
