"""Groups of agents: who shapes them, who may be a member, and the rule a ticket's assignment
follows (its group exists, its assignee is in it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ticketing.domain import (
    Actor,
    AddGroupMember,
    AssignTicket,
    CreateGroup,
    NotPermitted,
    RecordedEvent,
    RemoveGroupMember,
    UpdateGroup,
    ValidationFailed,
    decide,
    decide_group,
    evolve_group,
)
from services.ticketing.domain.groups import GroupNotFound

NOW = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


class GroupStream:
    """One group's stream: given earlier events, when a command, then its events."""

    def __init__(self):
        self.state, self.version = None, 0

    def when(self, command, members=None):
        events = decide_group(self.state, command, members)
        for event in events:
            self.version += 1
            recorded = RecordedEvent(
                type=event.type,
                data=event.data,
                pii={},
                version=self.version,
                occurred_at=NOW,
                actor_id=command.actor.user_id,
            )
            self.state = evolve_group(self.state, recorded)
        return events


@pytest.fixture
def group(admin, new_id):
    stream = GroupStream()
    stream.when(CreateGroup(actor=admin, group_id=new_id(), name="Network team"))
    return stream


def staff(*users: Actor) -> dict[str, frozenset[str]]:
    return {user.user_id: user.roles for user in users}


def test_an_admin_creates_a_group(admin, new_id):
    group_id = new_id()
    [event] = GroupStream().when(
        CreateGroup(actor=admin, group_id=group_id, name="  Network   team ", description="LAN")
    )
    assert (event.type, event.data) == (
        "group_created",
        {"group_id": group_id, "name": "Network team", "description": "LAN"},
    )


@pytest.mark.parametrize("roles", [("agent",), ("requester",)])
def test_only_admins_create_groups(actor_with, new_id, roles):
    with pytest.raises(NotPermitted):
        GroupStream().when(CreateGroup(actor=actor_with(*roles), group_id=new_id(), name="x"))


def test_a_group_needs_a_name(admin, new_id):
    with pytest.raises(ValidationFailed) as refused:
        GroupStream().when(CreateGroup(actor=admin, group_id=new_id(), name="   "))
    assert refused.value.field == "name"


def test_a_rename_is_one_event_and_the_same_name_none(group, admin):
    [event] = group.when(UpdateGroup(actor=admin, name="Networks"))
    assert event.data == {"fields": ["name"], "name": "Networks"}
    assert group.state.name == "Networks"
    assert group.when(UpdateGroup(actor=admin, name="Networks")) == []


def test_a_command_on_a_group_that_does_not_exist_is_not_found(admin, agent):
    with pytest.raises(GroupNotFound):
        GroupStream().when(AddGroupMember(actor=admin, user_id=agent.user_id))


def test_an_admin_adds_an_agent_once(group, admin, agent):
    [event] = group.when(AddGroupMember(actor=admin, user_id=agent.user_id), staff(agent))
    assert event.type == "group_member_added" and event.data["user_id"] == agent.user_id
    assert group.state.members == {agent.user_id}
    assert group.when(AddGroupMember(actor=admin, user_id=agent.user_id), staff(agent)) == []


@pytest.mark.parametrize("roles", [("requester",), None])
def test_a_member_must_be_an_agent_or_admin_of_the_tenant(group, admin, actor_with, roles):
    someone = actor_with(*(roles or ("agent",)))
    known = staff(someone) if roles else {}  # None: not a member of the tenant at all
    with pytest.raises(ValidationFailed) as refused:
        group.when(AddGroupMember(actor=admin, user_id=someone.user_id), known)
    assert refused.value.field == "user_id"


def test_an_agent_cannot_change_members(group, agent):
    with pytest.raises(NotPermitted):
        group.when(AddGroupMember(actor=agent, user_id=agent.user_id), staff(agent))


def test_removing_a_member_records_the_reason_and_a_non_member_changes_nothing(group, admin, agent):
    group.when(AddGroupMember(actor=admin, user_id=agent.user_id), staff(agent))
    [event] = group.when(RemoveGroupMember(actor=admin, user_id=agent.user_id))
    assert event.data["reason"] == "removed" and group.state.members == frozenset()
    assert group.when(RemoveGroupMember(actor=admin, user_id=agent.user_id)) == []


def test_only_the_system_records_that_a_member_left_the_tenant(group, admin, agent):
    group.when(AddGroupMember(actor=admin, user_id=agent.user_id), staff(agent))
    with pytest.raises(NotPermitted):
        group.when(RemoveGroupMember(actor=admin, user_id=agent.user_id, reason="left_tenant"))
    system = Actor.system()
    [event] = group.when(RemoveGroupMember(actor=system, user_id=agent.user_id, reason="erased"))
    assert event.data["reason"] == "erased"


# the rule an assignment follows


def test_a_tickets_group_must_exist(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    command = AssignTicket(actor=agent, assignee_id=None, group_id=new_id())
    with pytest.raises(ValidationFailed) as refused:
        decide(stream.state, command, NOW, {}, groups={})
    assert refused.value.field == "group_id"


def test_an_assignee_must_be_in_the_tickets_group(open_ticket, requester, agent, new_id):
    stream, group_id, colleague = open_ticket(requester), new_id(), new_id()
    command = AssignTicket(actor=agent, assignee_id=agent.user_id, group_id=group_id)
    with pytest.raises(ValidationFailed) as refused:
        decide(stream.state, command, NOW, {}, groups={group_id: frozenset({colleague})})
    assert refused.value.field == "assignee_id"
    [event] = decide(stream.state, command, NOW, {}, groups={group_id: frozenset({agent.user_id})})
    assert (event.data["assignee_id"], event.data["group_id"]) == (agent.user_id, group_id)


def test_a_ticket_without_a_group_takes_any_agent_and_a_group_alone_no_one(
    open_ticket, requester, agent, new_id
):
    stream, group_id = open_ticket(requester), new_id()
    assert decide(
        stream.state, AssignTicket(actor=agent, assignee_id=agent.user_id), NOW, {}, groups={}
    )
    [event] = decide(
        stream.state,
        AssignTicket(actor=agent, group_id=group_id),
        NOW,
        {},
        groups={group_id: frozenset()},
    )
    assert (event.data["assignee_id"], event.data["group_id"]) == (None, group_id)
