"""Tenants and their members as pure decisions: creation, joining, role changes and erasure.

Streams: `tenant-<id>` holds the tenant's creation; `user-<id>` each member's joining, role
changes and erasure, so members joining at once never contend on one stream. The first user
of an organization is the one whose sign-in created its tenant (the organization's directory
row and the tenant stream's first version admit exactly one); nobody is ever made admin by
arriving later. The tenant keeps an admin: a change that would leave its members with none is
refused, decided on the tenant's members read under a lock (see store.lock_members). The
last member may always be erased; an organization left with none is released, so its next
sign-in founds a new tenant rather than joining one nobody manages.
"""

from dataclasses import dataclass

ROLES = frozenset({"admin", "agent", "requester", "compliance_officer", "privacy_officer"})
FIRST_USER_ROLES = ("admin",)
JOINING_USER_ROLES = ("requester",)

TENANT_CREATED = "tenant_created"
USER_JOINED = "user_joined"
MEMBER_ROLES_CHANGED = "member_roles_changed"
MEMBER_ERASED = "member_erased"


class DomainError(Exception):
    """A command the tenant's current state does not allow."""


class UnknownRole(DomainError):
    pass


class NotAMember(DomainError):
    pass


class LastAdmin(DomainError):
    pass


@dataclass(frozen=True)
class Decision:
    """An event decided on: its name, its non-personal data and its stream ("tenant" or "member")."""

    name: str
    data: dict
    stream: str = "member"


@dataclass(frozen=True)
class Member:
    """One member's stream folded: whether they joined, their roles, whether they were erased."""

    user_id: str
    joined: bool = False
    roles: tuple = ()
    erased: bool = False


def evolve(state: Member, name: str, data: dict) -> Member:
    """Apply one stored event of the member's stream (by its name without the service prefix)."""
    if name in (USER_JOINED, MEMBER_ROLES_CHANGED):
        return Member(state.user_id, True, tuple(sorted(data["roles"])), state.erased)
    if name == MEMBER_ERASED:
        return Member(state.user_id, state.joined, (), True)
    return state


def sign_up(
    tenant_id: str, user_id: str, *, creates_tenant: bool, kind: str, name: str, provider: str
) -> list[Decision]:
    """A new account signs in: the one that creates the tenant is its admin, later ones join."""
    decisions = []
    if creates_tenant:
        decisions.append(
            Decision(
                TENANT_CREATED,
                {"tenant_id": tenant_id, "kind": kind, "name": name, "provider": provider},
                "tenant",
            )
        )
    roles = FIRST_USER_ROLES if creates_tenant else JOINING_USER_ROLES
    decisions.append(
        Decision(USER_JOINED, {"user_id": user_id, "roles": list(roles), "provider": provider})
    )
    return decisions


def _other_admins(member: Member, members: dict) -> bool:
    return any("admin" in roles for user_id, roles in members.items() if user_id != member.user_id)


def change_roles(member: Member, roles, members: dict) -> list[Decision]:
    """Set a member's roles; the tenant never loses its last admin.

    `members` maps each member of the tenant (erased ones left out) to their roles.
    """
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise UnknownRole("unknown role(s): " + ", ".join(sorted(unknown)))
    if not roles:
        raise UnknownRole("a member keeps at least one role")
    if not member.joined or member.erased:
        raise NotAMember(member.user_id)
    previous = list(member.roles)
    if previous == roles:
        return []
    if "admin" in previous and "admin" not in roles and not _other_admins(member, members):
        raise LastAdmin(
            "the tenant's last admin cannot lose the admin role: make another member an admin first"
        )
    return [
        Decision(
            MEMBER_ROLES_CHANGED,
            {"user_id": member.user_id, "roles": roles, "previous_roles": previous},
        )
    ]


def erase_member(member: Member, members: dict) -> list[Decision]:
    """Erase a member; not the last admin while other members would be left without one."""
    if not member.joined or member.erased:
        return []
    others = set(members) - {member.user_id}
    if "admin" in member.roles and others and not _other_admins(member, members):
        raise LastAdmin(
            "the tenant's last admin cannot be erased while it has other members:"
            " make another member an admin first"
        )
    return [Decision(MEMBER_ERASED, {"user_id": member.user_id})]


def check_erasable(member: Member, members: dict) -> None:
    """Raise LastAdmin when erasing the member now would leave the others without an admin."""
    erase_member(member, members)
