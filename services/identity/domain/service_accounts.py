"""The service-account rules: roles a program may hold, at most two live secrets, revocation.

Handlers of decide (registered in decide.py) and the fold of a `service-account-<id>` stream
(dispatched from evolve.py). Times are ISO 8601 in event data and datetimes in the state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .commands import AddSecret, CreateServiceAccount, RevokeServiceAccount
from .errors import DomainError, ForbiddenRole, TooManySecrets, UnknownRole, UnknownServiceAccount
from .model import (
    ACCOUNT,
    MAX_LIVE_SECRETS,
    ROLES,
    SERVICE_ACCOUNT_CREATED,
    SERVICE_ACCOUNT_REVOKED,
    SERVICE_ACCOUNT_ROLES,
    SERVICE_ACCOUNT_SECRET_ADDED,
    NewEvent,
    RecordedEvent,
    Secret,
    ServiceAccount,
)


def _account_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise UnknownRole("unknown role(s): " + ", ".join(sorted(unknown)))
    forbidden = set(roles) - SERVICE_ACCOUNT_ROLES
    if forbidden:
        raise ForbiddenRole(
            "a service account cannot hold the role(s): " + ", ".join(sorted(forbidden))
        )
    if not roles:
        raise UnknownRole("a service account holds at least one role")
    return roles


def _live(state: ServiceAccount | None, account_id: str) -> ServiceAccount:
    if state is None or state.revoked:
        raise UnknownServiceAccount(account_id)
    return state


def create(state: ServiceAccount | None, cmd: CreateServiceAccount, members) -> list[NewEvent]:
    if state is not None:
        raise DomainError(f"service account {cmd.account_id} exists")
    if cmd.expires_at <= cmd.now:
        raise DomainError("a secret expires after it is issued")
    data = {
        "service_account_id": cmd.account_id,
        "name": cmd.name,
        "roles": _account_roles(cmd.roles),
        "secret_id": cmd.secret_id,
        "expires_at": cmd.expires_at.isoformat(),
    }
    return [NewEvent(SERVICE_ACCOUNT_CREATED, data, ACCOUNT)]


def add_secret(state: ServiceAccount | None, cmd: AddSecret, members) -> list[NewEvent]:
    """A new secret; every live one expires at `previous_expires_at` at the latest. Refused
    while two are live: a third would leave more than two secrets to track down."""
    state = _live(state, cmd.account_id)
    live = state.live_secrets(cmd.now)
    if len(live) >= MAX_LIVE_SECRETS:
        raise TooManySecrets(
            f"a service account has at most {MAX_LIVE_SECRETS} live secrets:"
            " wait for the older one to expire"
        )
    if cmd.expires_at <= cmd.now:
        raise DomainError("a secret expires after it is issued")
    shortened = [
        {"secret_id": secret.secret_id, "expires_at": cmd.previous_expires_at.isoformat()}
        for secret in live
        if cmd.previous_expires_at < secret.expires_at
    ]
    data = {
        "service_account_id": state.account_id,
        "secret_id": cmd.secret_id,
        "expires_at": cmd.expires_at.isoformat(),
        "shortened": shortened,
    }
    return [NewEvent(SERVICE_ACCOUNT_SECRET_ADDED, data, ACCOUNT)]


def revoke(state: ServiceAccount | None, cmd: RevokeServiceAccount, members) -> list[NewEvent]:
    state = _live(state, cmd.account_id)
    return [NewEvent(SERVICE_ACCOUNT_REVOKED, {"service_account_id": state.account_id}, ACCOUNT)]


HANDLERS = {
    CreateServiceAccount: create,
    AddSecret: add_secret,
    RevokeServiceAccount: revoke,
}


def _secret(secret_id, expires_at) -> Secret:
    return Secret(str(secret_id), datetime.fromisoformat(expires_at))


def evolve_account(state: ServiceAccount | None, event: RecordedEvent) -> ServiceAccount:
    """The service account after `event`."""
    data = event.data
    if event.type == SERVICE_ACCOUNT_CREATED:
        if state is not None:
            raise DomainError(f"service account {state.account_id} was created twice")
        return ServiceAccount(
            str(data["service_account_id"]),
            tuple(sorted(data["roles"])),
            (_secret(data["secret_id"], data["expires_at"]),),
            version=event.version,
        )
    if state is None:
        raise DomainError(f"a service account stream cannot start with {event.type}")
    if event.type == SERVICE_ACCOUNT_SECRET_ADDED:
        sooner = {entry["secret_id"]: _secret(**entry) for entry in data.get("shortened", ())}
        secrets = tuple(sooner.get(secret.secret_id, secret) for secret in state.secrets)
        secrets += (_secret(data["secret_id"], data["expires_at"]),)
        return replace(state, secrets=secrets, version=event.version)
    if event.type == SERVICE_ACCOUNT_REVOKED:
        return replace(state, revoked=True, version=event.version)
    return replace(state, version=event.version)
