"""The tenant aggregate: creation, members joining, role changes and erasure, as pure decisions."""

from dataclasses import dataclass, field

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
    """An event the aggregate decided on: its name and its non-personal data."""

    name: str
    data: dict


@dataclass
class Tenant:
    """What the decisions need: whether the tenant exists and each member's roles."""

    tenant_id: str
    exists: bool = False
    members: dict = field(default_factory=dict)

    def admins(self) -> set:
        return {user_id for user_id, roles in self.members.items() if "admin" in roles}


def evolve(state: Tenant, name: str, data: dict) -> Tenant:
    """Apply one stored event (by its name without the service prefix)."""
    if name == TENANT_CREATED:
        state.exists = True
    elif name in (USER_JOINED, MEMBER_ROLES_CHANGED):
        state.members[data["user_id"]] = tuple(data["roles"])
    elif name == MEMBER_ERASED:
        state.members.pop(data["user_id"], None)
    return state


def sign_up(state: Tenant, user_id: str, *, kind: str, name: str, provider: str) -> list[Decision]:
    """A new account signs in: the first one creates the tenant as its admin, later ones join.

    A tenant left without any admin (its last one was erased) makes the next arrival its admin,
    as if it were the first: otherwise nobody could ever manage it again.
    """
    decisions = []
    if not state.exists:
        decisions.append(Decision(TENANT_CREATED, {
            "tenant_id": state.tenant_id, "kind": kind, "name": name, "provider": provider}))
    roles = JOINING_USER_ROLES if state.admins() else FIRST_USER_ROLES
    decisions.append(Decision(USER_JOINED, {"user_id": user_id, "roles": list(roles),
                                            "provider": provider}))
    return decisions


def change_roles(state: Tenant, user_id: str, roles) -> list[Decision]:
    """Set a member's roles; the tenant never loses its last admin."""
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise UnknownRole("unknown role(s): " + ", ".join(sorted(unknown)))
    if not roles:
        raise UnknownRole("a member keeps at least one role")
    if user_id not in state.members:
        raise NotAMember(user_id)
    previous = sorted(state.members[user_id])
    if previous == roles:
        return []
    if "admin" not in roles and state.admins() == {user_id}:
        raise LastAdmin("the tenant's last admin cannot lose the admin role")
    return [Decision(MEMBER_ROLES_CHANGED, {"user_id": user_id, "roles": roles, "previous_roles": previous})]


def erase_member(state: Tenant, user_id: str) -> list[Decision]:
    """Erasure is a legal duty, so it is never refused, not even for the last admin."""
    if user_id not in state.members:
        return []
    return [Decision(MEMBER_ERASED, {"user_id": user_id})]
