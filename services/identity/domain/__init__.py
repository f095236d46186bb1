"""The pure membership domain of identity: commands in, events out, a member folded from events.

    decide(state, command, members) -> list[NewEvent]   the rules; raises DomainError
    evolve(state, event) -> Member                      folds one RecordedEvent
    replay(events) -> Member | None                     folds a whole member stream

Streams: `tenant-<id>` holds the tenant's creation; `user-<id>` each member's joining, role
changes and erasure, so members joining at once never contend on one stream. The first user
of an organization is the one whose sign-in created its tenant (the organization's directory
row and the tenant stream's first version admit exactly one); nobody is ever made admin by
arriving later. The tenant keeps an admin: a change that would leave its members with none is
refused, decided on the tenant's members read under a lock (see store.lock_members). The
last member may always be erased; an organization left with none is released, so its next
sign-in founds a new tenant rather than joining one nobody manages.

Module map: model (roles, event names, value types), commands, decide, evolve, errors.
"""

from .commands import ChangeRoles, CreateTenant, EraseMember, JoinTenant
from .decide import decide
from .errors import AlreadyMember, DomainError, LastAdmin, NotAMember, UnknownRole
from .evolve import evolve, replay
from .model import (
    ADMIN,
    FIRST_USER_ROLES,
    JOINING_USER_ROLES,
    MEMBER,
    MEMBER_ERASED,
    MEMBER_ROLES_CHANGED,
    ROLES,
    TENANT,
    TENANT_CREATED,
    USER_JOINED,
    Member,
    NewEvent,
    RecordedEvent,
)

__all__ = [
    "ADMIN",
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
