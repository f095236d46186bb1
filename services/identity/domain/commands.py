"""Commands the domain decides on (membership, service accounts); every field is a keyword."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class CreateTenant:
    """The sign-in that claimed a new tenant (personal, or its organization's first): its founder
    joins as the admin."""

    tenant_id: str
    user_id: str
    kind: str
    name: str
    provider: str


@dataclass(frozen=True, kw_only=True)
class JoinTenant:
    """A later first sign-in to an existing tenant: the newcomer joins as a requester."""

    user_id: str
    provider: str


@dataclass(frozen=True, kw_only=True)
class ChangeRoles:
    """Set a member's roles (at least one, each known)."""

    user_id: str
    roles: Iterable[str]


@dataclass(frozen=True, kw_only=True)
class EraseMember:
    """The privacy service erases a member (`request_id` names its erasure request)."""

    user_id: str
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateServiceAccount:
    """An admin creates a service account with its first secret (`secret_id` names it; the
    secret itself stays out of the domain)."""

    account_id: str
    name: str
    roles: Iterable[str]
    secret_id: str
    now: datetime
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class AddSecret:
    """Rotation: a new secret alongside the current one, whose expiry is brought forward to
    `previous_expires_at` (when that is sooner), so at most two are ever live."""

    account_id: str
    secret_id: str
    now: datetime
    expires_at: datetime
    previous_expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class RevokeServiceAccount:
    """An admin revokes a service account: no secret of it is accepted any more."""

    account_id: str
