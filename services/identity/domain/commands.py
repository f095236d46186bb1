"""Commands the membership domain decides on; every field is a keyword."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
