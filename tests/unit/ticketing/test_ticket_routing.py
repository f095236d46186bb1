"""Routing: the first matching rule wins, round robin and least loaded pick agents, the decision
and the release of a departed agent's assignments are system events with their reason; a
confident AI triage suggestion sets a missing category."""

from __future__ import annotations

import types

import pytest

from services.ticketing.domain import (
    Actor,
    ApplyTriage,
    AssignTicket,
    Condition,
    NotPermitted,
    ReleaseAssignment,
    RouteTicket,
    RoutingRule,
    TicketClosed,
    Transition,
    choose,
    first_match,
)
from services.ticketing.groups import routing_trigger

SYSTEM = Actor.system()


def ticket(**attributes):
    base = {"type": "incident", "category": None, "priority": "medium"}
    return types.SimpleNamespace(**{**base, **attributes})


def rule(group, **when):
    fields = tuple(sorted(when.pop("fields", {}).items()))
    return RoutingRule(when=Condition(**when, fields=fields), group_id=group)


RULES = [
    rule("network", category="network", priority="critical"),
    rule("network-2", category="network"),
    rule("changes", type="change"),
    rule("paris", fields={"site": "paris", "vip": "true"}),
    rule("everything"),
]


@pytest.mark.parametrize(
    ("attributes", "group"),
    [
        ({"category": "network", "priority": "critical"}, "network"),
        ({"category": "network", "priority": "low"}, "network-2"),
        ({"type": "change", "category": "network"}, "network-2"),  # earlier rule first
        ({"type": "change"}, "changes"),
        ({"fields": {"site": "paris", "vip": True}}, "paris"),
        ({"fields": {"site": "paris"}}, "everything"),  # every field condition must hold
        ({"fields": {"site": "lyon", "vip": True}}, "everything"),
        ({}, "everything"),
    ],
)
def test_the_first_rule_whose_conditions_all_hold_wins(attributes, group):
    index, found = first_match(RULES, ticket(**attributes))
    assert found.group_id == group and RULES[index] is found


def test_no_rule_matches_when_none_holds():
    assert first_match(RULES[:3], ticket(category="printers")) is None
    assert first_match([], ticket()) is None


def test_a_ticket_without_custom_fields_matches_no_field_condition(open_ticket, requester):
    state = open_ticket(requester).state
    assert first_match([rule("paris", fields={"site": "paris"})], state) is None
    assert first_match([rule("any", type="incident")], state)[0] == 0


def test_round_robin_takes_each_member_in_turn_and_wraps():
    members, last, picked = {"c", "a", "b"}, None, []
    for _ in range(4):
        last = choose("round_robin", members, {}, last)
        picked.append(last)
    assert picked == ["a", "b", "c", "a"]


def test_round_robin_goes_on_after_a_member_who_left():
    assert choose("round_robin", {"a", "c"}, {}, "b") == "c"
    assert choose("round_robin", {"a", "b"}, {}, "z") == "a"


def test_least_loaded_picks_the_fewest_open_tickets_ties_by_id():
    assert choose("least_loaded", {"a", "b", "c"}, {"a": 3, "b": 1, "c": 1}, None) == "b"
    assert choose("least_loaded", {"a", "b"}, {"a": 2}, None) == "b"  # none counts as zero


def test_a_group_without_members_picks_no_one():
    assert choose("round_robin", set(), {}, "a") is None
    assert choose("least_loaded", set(), {}, None) is None


def route(group_id, assignee_id, **extra):
    return RouteTicket(
        actor=extra.pop("actor", SYSTEM),
        rule=1,
        group_id=group_id,
        assignee_id=assignee_id,
        strategy="least_loaded",
        trigger="opened",
        **extra,
    )


def test_routing_records_why_then_the_assignment_it_causes(open_ticket, requester, new_id):
    stream, group_id, agent_id = open_ticket(requester), new_id(), new_id()
    routed, assigned = stream.when(route(group_id, agent_id))
    assert (routed.type, routed.data) == (
        "ticket_routed",
        {
            "rule": 1,
            "group_id": group_id,
            "assignee_id": agent_id,
            "strategy": "least_loaded",
            "trigger": "opened",
            "reason": "rule_matched",
        },
    )
    assert assigned.type == "ticket_assigned" and assigned.data["reason"] == "routed"
    assert (stream.state.group_id, stream.state.assignee_id) == (group_id, agent_id)
    assert stream.when(route(group_id, new_id())) == []  # in that group already


def test_a_group_without_members_gets_the_ticket_unassigned(open_ticket, requester, new_id):
    stream, group_id = open_ticket(requester), new_id()
    routed, _ = stream.when(route(group_id, None, reason="no_member"))
    assert routed.data["reason"] == "no_member"
    assert (stream.state.group_id, stream.state.assignee_id) == (group_id, None)


def test_only_the_system_routes_and_never_a_closed_ticket(open_ticket, requester, agent, new_id):
    with pytest.raises(NotPermitted):
        open_ticket(requester).when(route(new_id(), None, actor=agent))
    with pytest.raises(TicketClosed):
        open_ticket(requester, "closed").when(route(new_id(), None))


@pytest.mark.parametrize("reason", ["left_group", "left_tenant", "erased"])
def test_a_departed_agents_assignment_is_released_in_its_group(
    open_ticket, requester, agent, new_id, reason
):
    stream, group_id = open_ticket(requester, "in_progress"), new_id()
    stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id, group_id=group_id))
    [event] = stream.when(ReleaseAssignment(actor=SYSTEM, user_id=agent.user_id, reason=reason))
    assert event.data == {
        "assignee_id": None,
        "group_id": group_id,
        "previous_assignee_id": agent.user_id,
        "previous_group_id": group_id,
        "reason": reason,
    }
    assert (stream.state.group_id, stream.state.assignee_id) == (group_id, None)


def test_releasing_someone_elses_or_a_closed_ticket_changes_nothing(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id))
    other = ReleaseAssignment(actor=SYSTEM, user_id=new_id(), reason="left_tenant")
    assert stream.when(other) == []
    closed = open_ticket(requester, "resolved", staff=agent)
    closed.when(AssignTicket(actor=agent, assignee_id=agent.user_id))
    closed.when(Transition(actor=agent, to="closed"))
    mine = ReleaseAssignment(actor=SYSTEM, user_id=agent.user_id, reason="left_tenant")
    assert closed.when(mine) == []


def test_only_the_system_releases_assignments(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id))
    with pytest.raises(NotPermitted):
        stream.when(ReleaseAssignment(actor=agent, user_id=agent.user_id, reason="left_group"))


def triage(confidence, minimum=0.8, category="network", actor=SYSTEM):
    return ApplyTriage(
        actor=actor, category=category, confidence=confidence, min_confidence=minimum
    )


def test_a_confident_ai_suggestion_sets_the_category_of_a_ticket_without_one(
    open_ticket, requester
):
    stream = open_ticket(requester)
    [event] = stream.when(triage(0.9))
    assert (event.type, event.data) == (
        "ticket_updated",
        {"fields": ["category"], "category": "network", "source": "ai_triage", "confidence": 0.9},
    )
    assert stream.state.category == "network"


def test_an_ai_suggestion_below_the_confidence_or_after_a_decision_changes_nothing(
    open_ticket, requester, agent, new_id
):
    assert open_ticket(requester).when(triage(0.79)) == []
    assert open_ticket(requester, category="printers").when(triage(0.99)) == []
    grouped = open_ticket(requester)
    grouped.when(AssignTicket(actor=agent, group_id=new_id()))
    assert grouped.when(triage(0.99)) == []
    assert open_ticket(requester, "closed").when(triage(0.99)) == []


def test_only_the_system_applies_ai_triage(open_ticket, requester, agent):
    with pytest.raises(NotPermitted):
        open_ticket(requester).when(triage(0.9, actor=agent))


def envelope(name, **data):
    return types.SimpleNamespace(event_type=f"ticketing.{name}", data=data)


@pytest.mark.parametrize(
    ("names_and_data", "trigger"),
    [
        ([("ticket_opened", {})], "opened"),
        ([("ticket_updated", {"fields": ["category"], "category": "network"})], "category_changed"),
        ([("ticket_updated", {"category": "network", "source": "ai_triage"})], "ai_triage"),
        ([("ticket_updated", {"fields": ["title"]})], None),
        # a person who assigns in the same change keeps their choice
        ([("ticket_updated", {"category": "network"}), ("ticket_assigned", {})], None),
        ([("ticket_routed", {}), ("ticket_assigned", {})], None),
    ],
)
def test_what_calls_for_routing(names_and_data, trigger):
    assert routing_trigger([envelope(name, **data) for name, data in names_and_data]) == trigger
