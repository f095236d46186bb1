"""Value types of the membership domain: roles, event names, events in and out, a member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = frozenset({"admin", "agent", "requester", "compliance_officer", "privacy_officer"})
ADMIN = "admin"
FIRST_USER_ROLES = (ADMIN,)
JOINING_USER_ROLES = ("requester",)

# Event types, without the "identity." prefix the service adds.
TENANT_CREATED = "tenant_created"
USER_JOINED = "user_joined"
MEMBER_ROLES_CHANGED = "member_roles_changed"
MEMBER_ERASED = "member_erased"

# The stream a new event goes to: the tenant's (`tenant-<id>`) or the member's (`user-<id>`).
TENANT, MEMBER = "tenant", "member"


@dataclass(frozen=True)
class NewEvent:
    """A fact decided by the domain, not yet stored: its type, non-personal data and stream."""

    type: str
    data: dict[str, Any]
    stream: str = MEMBER


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event of a member's stream as the service hands it back."""

    type: str
    data: dict[str, Any]
    version: int


@dataclass(frozen=True)
class Member:
    """One member's stream folded: their roles, whether they were erased, the stream version."""

    user_id: str
    roles: tuple[str, ...] = ()
    erased: bool = False
    version: int = 0
