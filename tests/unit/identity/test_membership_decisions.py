"""Identity's membership decisions: the founder is admin, nobody else by accident, an admin stays."""

import pytest

from services.identity import domain
from services.identity.domain import Member


def joined(user_id, *roles):
    return Member(user_id, joined=True, roles=tuple(sorted(roles)))


def test_the_sign_in_that_creates_the_tenant_makes_its_founder_admin():
    decisions = domain.sign_up(
        "t", "u1", creates_tenant=True, kind="organization", name="Acme", provider="google"
    )
    assert [(d.name, d.stream) for d in decisions] == [
        ("tenant_created", "tenant"),
        ("user_joined", "member"),
    ]
    assert decisions[-1].data["roles"] == ["admin"]


def test_every_later_sign_in_joins_as_a_requester_whatever_the_tenant_has_left():
    decisions = domain.sign_up(
        "t", "u2", creates_tenant=False, kind="organization", name="Acme", provider="google"
    )
    assert [d.name for d in decisions] == ["user_joined"] and decisions[0].data["roles"] == [
        "requester"
    ]


def test_the_last_admin_cannot_lose_the_admin_role():
    admin = joined("a", "admin")
    with pytest.raises(domain.LastAdmin, match="last admin"):
        domain.change_roles(admin, ["agent"], {"a": ("admin",), "b": ("requester",)})


def test_an_admin_may_step_down_once_another_admin_exists():
    admin = joined("a", "admin")
    (decided,) = domain.change_roles(admin, ["agent"], {"a": ("admin",), "b": ("admin",)})
    assert decided.data == {"user_id": "a", "roles": ["agent"], "previous_roles": ["admin"]}


def test_the_last_admin_cannot_be_erased_while_the_tenant_has_other_members():
    with pytest.raises(domain.LastAdmin, match="cannot be erased"):
        domain.erase_member(joined("a", "admin"), {"a": ("admin",), "b": ("requester",)})


def test_the_only_member_may_be_erased():
    assert [d.name for d in domain.erase_member(joined("a", "admin"), {"a": ("admin",)})] == [
        "member_erased"
    ]


def test_an_erased_member_is_erased_once():
    erased = domain.evolve(joined("a", "requester"), domain.MEMBER_ERASED, {"user_id": "a"})
    assert domain.erase_member(erased, {}) == []
    with pytest.raises(domain.NotAMember):
        domain.change_roles(erased, ["admin"], {})
