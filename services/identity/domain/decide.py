"""decide(state, command, members) -> [NewEvent]: tenant creation, joining, roles, erasure, and
service accounts (their rules are in service_accounts.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from . import service_accounts
from .commands import ChangeRoles, CreateTenant, EraseMember, JoinTenant
from .errors import AlreadyMember, LastAdmin, NotAMember, UnknownRole
from .model import (
    ADMIN,
    FIRST_USER_ROLES,
    JOINING_USER_ROLES,
    MEMBER_ERASED,
    MEMBER_ROLES_CHANGED,
    ROLES,
    TENANT,
    TENANT_CREATED,
    USER_JOINED,
    Member,
    NewEvent,
    ServiceAccount,
)

Members = Mapping[str, Sequence[str]]


def decide(
    state: Member | ServiceAccount | None, command: object, members: Members | None = None
) -> list[NewEvent]:
    """The events a command produces on a member's (or a service account's) stream, or a
    DomainError; [] when nothing changes.

    `state` is None for a member stream without events. `members` maps each member of the
    tenant (erased ones left out) to their roles, read under the tenant's lock (see
    store.lock_members); role changes and erasure need it, joining does not.
    """
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"not an identity command: {type(command).__name__}")
    return handler(state, command, members)


def _joined(user_id: str, roles, provider: str) -> NewEvent:
    return NewEvent(USER_JOINED, {"user_id": user_id, "roles": list(roles), "provider": provider})


def _create_tenant(state: Member | None, cmd: CreateTenant, members) -> list[NewEvent]:
    # Only the sign-in that created the tenant is its admin: nobody is made admin by arriving.
    if state is not None:
        raise AlreadyMember(cmd.user_id)
    created = {
        "tenant_id": cmd.tenant_id,
        "kind": cmd.kind,
        "name": cmd.name,
        "provider": cmd.provider,
    }
    return [
        NewEvent(TENANT_CREATED, created, TENANT),
        _joined(cmd.user_id, FIRST_USER_ROLES, cmd.provider),
    ]


def _join_tenant(state: Member | None, cmd: JoinTenant, members) -> list[NewEvent]:
    if state is not None:
        raise AlreadyMember(cmd.user_id)
    return [_joined(cmd.user_id, JOINING_USER_ROLES, cmd.provider)]


def _required(members: Members | None) -> Members:
    if members is None:
        raise TypeError("this command is decided on the tenant's members")
    return members


def _other_admins(user_id: str, members: Members) -> bool:
    return any(ADMIN in roles for member, roles in members.items() if member != user_id)


def _change_roles(state: Member | None, cmd: ChangeRoles, members) -> list[NewEvent]:
    """Set a member's roles; the tenant never loses its last admin."""
    members = _required(members)
    roles = sorted(set(cmd.roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise UnknownRole("unknown role(s): " + ", ".join(sorted(unknown)))
    if not roles:
        raise UnknownRole("a member keeps at least one role")
    if state is None or state.erased:
        raise NotAMember(cmd.user_id)
    previous = list(state.roles)
    if previous == roles:
        return []
    if ADMIN in previous and ADMIN not in roles and not _other_admins(state.user_id, members):
        raise LastAdmin(
            "the tenant's last admin cannot lose the admin role: make another member an admin first"
        )
    return [
        NewEvent(
            MEMBER_ROLES_CHANGED,
            {"user_id": state.user_id, "roles": roles, "previous_roles": previous},
        )
    ]


def _erase_member(state: Member | None, cmd: EraseMember, members) -> list[NewEvent]:
    """Erase a member; not the last admin while other members would be left without one.

    The last member may always be erased (the service then releases their organization)."""
    members = _required(members)
    if state is None or state.erased:
        return []
    others = set(members) - {state.user_id}
    if ADMIN in state.roles and others and not _other_admins(state.user_id, members):
        raise LastAdmin(
            "the tenant's last admin cannot be erased while it has other members:"
            " make another member an admin first"
        )
    return [NewEvent(MEMBER_ERASED, {"user_id": state.user_id, "request_id": cmd.request_id})]


_HANDLERS: dict[type, Callable[..., list[NewEvent]]] = {
    CreateTenant: _create_tenant,
    JoinTenant: _join_tenant,
    ChangeRoles: _change_roles,
    EraseMember: _erase_member,
    **service_accounts.HANDLERS,
}
