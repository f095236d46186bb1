"""The pure domain of identity: commands in, events out, a member or service account folded
from events.

    decide(state, command, members) -> list[NewEvent]   the rules; raises DomainError
    evolve(state, event) -> Member | ServiceAccount     folds one RecordedEvent
    replay(events) -> Member | ServiceAccount | None    folds a whole stream

Streams: `tenant-<id>` holds the tenant's creation; `user-<id>` each member's joining, role
changes and erasure, so members joining at once never contend on one stream. The first user
of an organization is the one whose sign-in created its tenant (the organization's directory
row and the tenant stream's first version admit exactly one); nobody is ever made admin by
arriving later. The tenant keeps an admin: a change that would leave its members with none is
refused, decided on the tenant's members read under a lock (see store.lock_members). The
last member may always be erased; an organization left with none is released, so its next
sign-in founds a new tenant rather than joining one nobody manages.

Service accounts (`service-account-<id>`) are programs of the tenant: roles other than admin
and privacy_officer, at most two live secrets (a rotation brings the older one's expiry
forward), revocation for good (service_accounts.py).

Module map: model (roles, event names, value types), commands, decide, evolve,
service_accounts, errors.
"""

from .commands import (
    AddSecret,
    ChangeRoles,
    CreateServiceAccount,
    CreateTenant,
    EraseMember,
    JoinTenant,
    RevokeServiceAccount,
)
from .decide import decide
from .errors import (
    AlreadyMember,
    DomainError,
    ForbiddenRole,
    LastAdmin,
    NotAMember,
    TooManySecrets,
    UnknownRole,
    UnknownServiceAccount,
)
from .evolve import evolve, replay
from .model import (
    ACCOUNT,
    ADMIN,
    FIRST_USER_ROLES,
    JOINING_USER_ROLES,
    MAX_LIVE_SECRETS,
    MEMBER,
    MEMBER_ERASED,
    MEMBER_ROLES_CHANGED,
    ROLES,
    SERVICE_ACCOUNT_CREATED,
    SERVICE_ACCOUNT_EVENTS,
    SERVICE_ACCOUNT_REVOKED,
    SERVICE_ACCOUNT_ROLES,
    SERVICE_ACCOUNT_SECRET_ADDED,
    TENANT,
    TENANT_CREATED,
    USER_JOINED,
    Member,
    NewEvent,
    RecordedEvent,
    Secret,
    ServiceAccount,
)

__all__ = [
    "ACCOUNT",
    "ADMIN",
    "MAX_LIVE_SECRETS",
    "SERVICE_ACCOUNT_CREATED",
    "SERVICE_ACCOUNT_EVENTS",
    "SERVICE_ACCOUNT_REVOKED",
    "SERVICE_ACCOUNT_ROLES",
    "SERVICE_ACCOUNT_SECRET_ADDED",
    "AddSecret",
    "CreateServiceAccount",
    "ForbiddenRole",
    "RevokeServiceAccount",
    "Secret",
    "ServiceAccount",
    "TooManySecrets",
    "UnknownServiceAccount",
    "FIRST_USER_ROLES",
    "JOINING_USER_ROLES",
    "MEMBER",
    "MEMBER_ERASED",
    "MEMBER_ROLES_CHANGED",
    "ROLES",
    "TENANT",
    "TENANT_CREATED",
    "USER_JOINED",
    "AlreadyMember",
    "ChangeRoles",
    "CreateTenant",
    "DomainError",
    "EraseMember",
    "JoinTenant",
    "LastAdmin",
    "Member",
    "NewEvent",
    "NotAMember",
    "RecordedEvent",
    "UnknownRole",
    "decide",
    "evolve",
    "replay",
]
