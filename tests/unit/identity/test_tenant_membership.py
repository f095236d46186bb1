"""The membership domain given/when/then: founding a tenant, joining, role changes (an admin
stays) and erasure, over the member streams and the members read model."""

from dataclasses import FrozenInstanceError

import pytest

from services.identity.domain import (
    AlreadyMember,
    ChangeRoles,
    CreateTenant,
    DomainError,
    EraseMember,
    JoinTenant,
    LastAdmin,
    Member,
    NotAMember,
    RecordedEvent,
    UnknownRole,
    decide,
    evolve,
    replay,
)


def founded(tenant, founder="founder", *joiners):
    tenant.given(
        CreateTenant(
            tenant_id="t1", user_id=founder, kind="organization", name="Acme", provider="google"
        ),
        *(JoinTenant(user_id=user, provider="google") for user in joiners),
    )
    return tenant


# --- founding a tenant ---------------------------------------------------------------------


def test_founding_creates_the_tenant_and_its_founder_joins_as_its_admin(tenant):
    events = tenant.when(
        CreateTenant(
            tenant_id="t1", user_id="ana", kind="organization", name="Acme", provider="microsoft"
        )
    )

    assert [(e.type, e.stream) for e in events] == [
        ("tenant_created", "tenant"),
        ("user_joined", "member"),
    ]
    assert events[0].data == {
        "tenant_id": "t1",
        "kind": "organization",
        "name": "Acme",
        "provider": "microsoft",
    }
    assert events[1].data == {"user_id": "ana", "roles": ["admin"], "provider": "microsoft"}
    assert tenant.state("ana") == Member("ana", roles=("admin",), version=1)
    assert tenant.members() == {"ana": ("admin",)}


def test_a_personal_workspace_is_founded_the_same_way(tenant):
    tenant.when(
        CreateTenant(
            tenant_id="t1",
            user_id="bo",
            kind="personal",
            name="Personal workspace",
            provider="google",
        )
    )

    assert tenant.tenant_events[0].data["kind"] == "personal"
    assert tenant.members() == {"bo": ("admin",)}


def test_a_member_cannot_found_a_second_tenant_on_their_stream(tenant):
    founded(tenant, "ana")

    with pytest.raises(AlreadyMember):
        tenant.when(
            CreateTenant(
                tenant_id="t2", user_id="ana", kind="personal", name="Mine", provider="google"
            )
        )


# --- joining -------------------------------------------------------------------------------


def test_a_later_sign_in_joins_as_a_requester_and_the_founder_stays_the_only_admin(tenant):
    founded(tenant, "ana")

    events = tenant.when(JoinTenant(user_id="bo", provider="google"))

    assert [(e.type, e.stream) for e in events] == [("user_joined", "member")]
    assert events[0].data == {"user_id": "bo", "roles": ["requester"], "provider": "google"}
    assert tenant.members() == {"ana": ("admin",), "bo": ("requester",)}


def test_joining_never_makes_an_admin_even_of_a_tenant_whose_admin_left(tenant):
    founded(tenant, "ana", "bo").given(
        ChangeRoles(user_id="bo", roles=["admin"]), EraseMember(user_id="ana")
    )

    (joined,) = tenant.when(JoinTenant(user_id="cy", provider="google"))

    assert joined.data["roles"] == ["requester"]


def test_a_member_joins_once(tenant):
    founded(tenant, "ana", "bo")

    with pytest.raises(AlreadyMember):
        tenant.when(JoinTenant(user_id="bo", provider="google"))


# --- role changes --------------------------------------------------------------------------


def test_an_admin_sets_a_members_roles_and_the_event_keeps_the_previous_ones(tenant):
    founded(tenant, "ana", "bo")

    (changed,) = tenant.when(ChangeRoles(user_id="bo", roles=["requester", "agent", "agent"]))

    assert changed.type == "member_roles_changed"
    assert changed.data == {
        "user_id": "bo",
        "roles": ["agent", "requester"],
        "previous_roles": ["requester"],
    }
    assert tenant.state("bo").roles == ("agent", "requester")
    assert tenant.state("bo").version == 2


def test_setting_the_roles_a_member_has_changes_nothing(tenant):
    founded(tenant, "ana", "bo")

    assert tenant.when(ChangeRoles(user_id="bo", roles=["requester"])) == []
    assert tenant.state("bo").version == 1


@pytest.mark.parametrize("roles", [["root"], ["agent", "superuser"], []])
def test_unknown_roles_and_no_role_at_all_are_refused(tenant, roles):
    founded(tenant, "ana", "bo")

    with pytest.raises(UnknownRole):
        tenant.when(ChangeRoles(user_id="bo", roles=roles))


def test_only_members_get_roles(tenant):
    founded(tenant, "ana", "bo").given(EraseMember(user_id="bo"))

    with pytest.raises(NotAMember):
        tenant.when(ChangeRoles(user_id="nobody", roles=["agent"]))
    with pytest.raises(NotAMember):
        tenant.when(ChangeRoles(user_id="bo", roles=["agent"]))


def test_the_last_admin_keeps_the_admin_role(tenant):
    founded(tenant, "ana", "bo")

    with pytest.raises(LastAdmin, match="last admin cannot lose the admin role"):
        tenant.when(ChangeRoles(user_id="ana", roles=["agent"]))
    assert tenant.state("ana").roles == ("admin",)


def test_the_only_member_keeps_the_admin_role_too(tenant):
    founded(tenant, "ana")

    with pytest.raises(LastAdmin):
        tenant.when(ChangeRoles(user_id="ana", roles=["requester"]))


def test_an_admin_steps_down_once_another_admin_exists_and_then_that_one_stays(tenant):
    founded(tenant, "ana", "bo").given(ChangeRoles(user_id="bo", roles=["admin", "agent"]))

    tenant.when(ChangeRoles(user_id="ana", roles=["agent"]))

    assert tenant.members() == {"ana": ("agent",), "bo": ("admin", "agent")}
    with pytest.raises(LastAdmin):
        tenant.when(ChangeRoles(user_id="bo", roles=["agent"]))


def test_an_admin_may_add_roles_to_their_own(tenant):
    founded(tenant, "ana")

    (changed,) = tenant.when(ChangeRoles(user_id="ana", roles=["admin", "privacy_officer"]))

    assert changed.data["roles"] == ["admin", "privacy_officer"]


# --- erasure -------------------------------------------------------------------------------


def test_erasing_a_member_records_the_request_and_leaves_them_no_roles(tenant):
    founded(tenant, "ana", "bo")

    (erased,) = tenant.when(EraseMember(user_id="bo", request_id="r1"))

    assert (erased.type, erased.data) == ("member_erased", {"user_id": "bo", "request_id": "r1"})
    assert tenant.state("bo") == Member("bo", roles=(), erased=True, version=2)
    assert tenant.members() == {"ana": ("admin",)}


def test_a_member_is_erased_once_and_a_stranger_not_at_all(tenant):
    founded(tenant, "ana", "bo").given(EraseMember(user_id="bo"))

    assert tenant.when(EraseMember(user_id="bo")) == []
    assert tenant.when(EraseMember(user_id="nobody")) == []


def test_the_last_admin_is_not_erased_while_others_would_be_left_without_one(tenant):
    founded(tenant, "ana", "bo")

    with pytest.raises(LastAdmin, match="cannot be erased while it has other members"):
        tenant.when(EraseMember(user_id="ana"))


def test_the_last_member_may_always_be_erased(tenant):
    founded(tenant, "ana")

    assert [e.type for e in tenant.when(EraseMember(user_id="ana"))] == ["member_erased"]
    assert tenant.members() == {}


def test_an_admin_is_erased_once_another_admin_exists(tenant):
    founded(tenant, "ana", "bo").given(ChangeRoles(user_id="bo", roles=["admin"]))

    tenant.when(EraseMember(user_id="ana"))

    assert tenant.members() == {"bo": ("admin",)}


def test_role_changes_and_erasure_are_decided_on_the_tenants_members():
    member = Member("ana", roles=("admin",), version=1)

    with pytest.raises(TypeError):
        decide(member, ChangeRoles(user_id="ana", roles=["agent"]))
    with pytest.raises(TypeError):
        decide(member, EraseMember(user_id="ana"))
    with pytest.raises(TypeError):
        decide(member, object(), {})


# --- evolve is a pure fold -----------------------------------------------------------------


def joined_event(user_id="ana", *roles):
    return RecordedEvent("user_joined", {"user_id": user_id, "roles": list(roles)}, 1)


def test_evolve_returns_a_new_state_and_leaves_the_old_one_as_it_was():
    before = evolve(None, joined_event("ana", "requester"))
    after = evolve(
        before, RecordedEvent("member_roles_changed", {"user_id": "ana", "roles": ["agent"]}, 2)
    )

    assert before == Member("ana", roles=("requester",), version=1)
    assert after == Member("ana", roles=("agent",), version=2)
    with pytest.raises(FrozenInstanceError):
        before.roles = ()


def test_other_events_of_the_member_stream_only_advance_its_version():
    rectified = RecordedEvent("user_profile_rectified", {"user_id": "ana", "fields": ["name"]}, 2)

    assert replay([joined_event("ana", "admin"), rectified]) == Member(
        "ana", roles=("admin",), version=2
    )


def test_a_member_stream_starts_with_the_join_and_holds_only_one():
    assert replay([]) is None
    with pytest.raises(DomainError):
        evolve(None, RecordedEvent("member_erased", {"user_id": "ana"}, 1))
    with pytest.raises(DomainError):
        replay([joined_event("ana", "admin"), joined_event("ana", "admin")])
