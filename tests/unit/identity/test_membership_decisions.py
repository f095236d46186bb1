"""Identity's membership decisions: the founder is admin, nobody else by accident, an admin
stays."""

import pytest

from services.identity import domain
from services.identity.domain import ChangeRoles, CreateTenant, EraseMember, JoinTenant, Member


def joined(user_id, *roles):
    return Member(user_id, roles=tuple(sorted(roles)), version=1)


def test_the_sign_in_that_creates_the_tenant_makes_its_founder_admin():
    decisions = domain.decide(
        None,
        CreateTenant(
            tenant_id="t", user_id="u1", kind="organization", name="Acme", provider="google"
        ),
    )
    assert [(d.type, d.stream) for d in decisions] == [
        ("tenant_created", "tenant"),
        ("user_joined", "member"),
    ]
    assert decisions[-1].data["roles"] == ["admin"]


def test_every_later_sign_in_joins_as_a_requester_whatever_the_tenant_has_left():
    decisions = domain.decide(None, JoinTenant(user_id="u2", provider="google"))
    assert [d.type for d in decisions] == ["user_joined"] and decisions[0].data["roles"] == [
        "requester"
    ]


def test_the_last_admin_cannot_lose_the_admin_role():
    admin = joined("a", "admin")
    with pytest.raises(domain.LastAdmin, match="last admin"):
        domain.decide(
            admin,
            ChangeRoles(user_id="a", roles=["agent"]),
            {"a": ("admin",), "b": ("requester",)},
        )


def test_an_admin_may_step_down_once_another_admin_exists():
    admin = joined("a", "admin")
    (decided,) = domain.decide(
        admin, ChangeRoles(user_id="a", roles=["agent"]), {"a": ("admin",), "b": ("admin",)}
    )
    assert decided.data == {"user_id": "a", "roles": ["agent"], "previous_roles": ["admin"]}


def test_the_last_admin_cannot_be_erased_while_the_tenant_has_other_members():
    with pytest.raises(domain.LastAdmin, match="cannot be erased"):
        domain.decide(
            joined("a", "admin"), EraseMember(user_id="a"), {"a": ("admin",), "b": ("requester",)}
        )


def test_the_only_member_may_be_erased():
    decided = domain.decide(joined("a", "admin"), EraseMember(user_id="a"), {"a": ("admin",)})
    assert [d.type for d in decided] == ["member_erased"]


def test_an_erased_member_is_erased_once():
    erased = domain.evolve(
        joined("a", "requester"),
        domain.RecordedEvent(domain.MEMBER_ERASED, {"user_id": "a"}, version=2),
    )
    assert domain.decide(erased, EraseMember(user_id="a"), {}) == []
    with pytest.raises(domain.NotAMember):
        domain.decide(erased, ChangeRoles(user_id="a", roles=["admin"]), {})
