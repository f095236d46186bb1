"""Value types of the domain: roles, event names, events in and out, a member, a service
account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

ROLES = frozenset({"admin", "agent", "requester", "compliance_officer", "privacy_officer"})
ADMIN = "admin"
FIRST_USER_ROLES = (ADMIN,)
JOINING_USER_ROLES = ("requester",)
# A program holds no personal data and is nobody's data subject: it may not administer the
# tenant nor act on data subjects' requests.
SERVICE_ACCOUNT_ROLES = ROLES - {"admin", "privacy_officer"}
MAX_LIVE_SECRETS = 2

# Event types, without the "identity." prefix the service adds.
TENANT_CREATED = "tenant_created"
USER_JOINED = "user_joined"
MEMBER_ROLES_CHANGED = "member_roles_changed"
MEMBER_ERASED = "member_erased"
SERVICE_ACCOUNT_CREATED = "service_account_created"
SERVICE_ACCOUNT_SECRET_ADDED = "service_account_secret_added"
SERVICE_ACCOUNT_REVOKED = "service_account_revoked"
SERVICE_ACCOUNT_EVENTS = frozenset(
    {SERVICE_ACCOUNT_CREATED, SERVICE_ACCOUNT_SECRET_ADDED, SERVICE_ACCOUNT_REVOKED}
)

# The stream a new event goes to: the tenant's (`tenant-<id>`), the member's (`user-<id>`) or
# the service account's (`service-account-<id>`).
TENANT, MEMBER, ACCOUNT = "tenant", "member", "service_account"


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


@dataclass(frozen=True)
class Secret:
    """One client secret of a service account: its id and when it stops being accepted (the
    secret itself, and even its hash, never reaches the domain)."""

    secret_id: str
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class ServiceAccount:
    """One service account's stream folded: its roles, secrets, whether it was revoked."""

    account_id: str
    roles: tuple[str, ...] = ()
    secrets: tuple[Secret, ...] = ()
    revoked: bool = False
    version: int = 0

    def live_secrets(self, now: datetime) -> tuple[Secret, ...]:
        return tuple(secret for secret in self.secrets if secret.live(now))
