"""SLA policies by condition: which policy applies, calendars with public and tenant holidays,
the next-response clock, and the escalation actions a warning or breach sets off."""

from __future__ import annotations

import types
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.ticketing.domain import (
    Actor,
    AddComment,
    NotPermitted,
    RecordSlaAlert,
    RecordSlaEscalation,
    SlaEscalation,
)
from services.ticketing.domain.decide import raised_priority
from services.ticketing.schemas import (
    ConditionalPolicySchema,
    load_policy_document,
    policy_document,
)
from services.ticketing.sla import (
    BusinessCalendar,
    Escalation,
    SlaMatch,
    SlaPolicies,
    SlaPolicy,
    default_policy,
    escalation_steps,
    next_sla_timers,
    sla_status,
)

ALWAYS = BusinessCalendar.always_open()
GROUP = "5b8e2a52-3a0f-4b8e-9d0e-000000000001"
OTHER_GROUP = "5b8e2a52-3a0f-4b8e-9d0e-000000000002"


def policy(policy_id, minutes=(10, 60, None), match=SlaMatch(), escalations=(), calendar=ALWAYS):
    targets = {p: minutes for p in ("low", "medium", "high", "critical")}
    return SlaPolicy(calendar, targets, 0.5, policy_id, match, tuple(escalations))


def ticket(**fields):
    base = {"type": "incident", "priority": "medium", "group_id": None}
    return types.SimpleNamespace(**{**base, **fields})


# which policy applies


def test_the_first_matching_policy_applies_and_the_default_takes_the_rest():
    vip = policy("vip", match=SlaMatch(fields={"tier": ["gold"]}))
    incidents = policy("incidents", match=SlaMatch(types={"incident"}))
    network = policy("network", match=SlaMatch(group_ids={GROUP}, priorities={"high"}))
    rules = SlaPolicies(default_policy(), (vip, incidents, network))

    assert rules.for_ticket(ticket(fields={"tier": "gold"})).policy_id == "vip"
    assert rules.for_ticket(ticket()).policy_id == "incidents"  # vip needs the field
    assert rules.for_ticket(ticket(type="change")).policy_id == "default"
    # every condition of a match must hold
    assert rules.for_ticket(ticket(type="change", group_id=GROUP)).policy_id == "default"
    assert (
        rules.for_ticket(ticket(type="change", group_id=GROUP, priority="high")).policy_id
        == "network"
    )


def test_the_order_decides_between_two_matching_policies():
    first = policy("first", match=SlaMatch(types={"incident"}))
    second = policy("second", match=SlaMatch(priorities={"medium"}))
    assert SlaPolicies(default_policy(), (first, second)).for_ticket(ticket()).policy_id == "first"
    assert SlaPolicies(default_policy(), (second, first)).for_ticket(ticket()).policy_id == "second"


def test_a_field_match_reads_custom_fields_as_text_and_tickets_without_fields_never_match():
    on_call = SlaMatch(fields={"on_call": ["true"], "site": ["lyon", "paris"]})
    assert on_call.matches(ticket(fields={"on_call": True, "site": "paris"}))
    assert not on_call.matches(ticket(fields={"on_call": False, "site": "paris"}))
    assert not on_call.matches(ticket(fields={"site": "paris"}))
    assert not on_call.matches(ticket())  # a ticket state with no `fields` at all


def test_policy_ids_are_unique_and_default_is_reserved():
    with pytest.raises(ValueError, match="unique"):
        SlaPolicies(default_policy(), (policy("a"), policy("a")))
    with pytest.raises(ValueError, match="default"):
        SlaPolicies(default_policy(), (policy("default"),))


# business calendars with holidays


def test_a_country_holiday_and_a_tenant_date_are_skipped_in_business_time():
    # Thursday 1 May 2025 is Labour Day in France; the tenant closes on Friday 2 May too
    calendar = BusinessCalendar(
        "Europe/Paris",
        {day: [(time(9), time(17))] for day in range(5)},
        frozenset({date(2025, 5, 2)}),
        country="FR",
    )
    wednesday_late = datetime(2025, 4, 30, 14, 30, tzinfo=UTC)  # 16:30 in Paris (UTC+2)
    due = calendar.add_business_seconds(wednesday_late, 3600)
    assert due == datetime(2025, 5, 5, 7, 30, tzinfo=UTC)  # Monday 09:30 in Paris
    assert calendar.is_holiday(date(2025, 5, 1)) and calendar.is_holiday(date(2025, 5, 2))
    assert not calendar.is_holiday(date(2025, 5, 5))
    # without the country, Thursday counts
    plain = BusinessCalendar(
        "Europe/Paris", {day: [(time(9), time(17))] for day in range(5)}, frozenset()
    )
    assert plain.add_business_seconds(wednesday_late, 3600) == datetime(
        2025, 5, 1, 7, 30, tzinfo=UTC
    )


def test_a_subdivision_adds_its_own_holidays_and_unknown_codes_are_refused():
    # Epiphany (6 January) is a public holiday in Bavaria (BY), not in Berlin (BE)
    bavaria = BusinessCalendar.weekdays("Europe/Berlin")
    bavaria = BusinessCalendar(bavaria.timezone, bavaria.hours, country="DE", subdivision="BY")
    berlin = BusinessCalendar(bavaria.timezone, bavaria.hours, country="DE", subdivision="BE")
    assert bavaria.is_holiday(date(2025, 1, 6)) and not berlin.is_holiday(date(2025, 1, 6))
    with pytest.raises(ValueError, match="no public holidays"):
        BusinessCalendar("UTC", {0: [(time(9), time(17))]}, country="XX")
    with pytest.raises(ValueError, match="subdivision"):
        BusinessCalendar("UTC", {0: [(time(9), time(17))]}, subdivision="BY")


# the next-response clock


@pytest.fixture
def chatty():
    return policy("chatty", minutes=(10, 600, 30))


def test_next_response_runs_from_a_requester_message_after_the_first_response(
    chatty, open_ticket, requester, agent
):
    stream = open_ticket(requester)
    assert sla_status(chatty, stream.events, stream.now)["next_response"]["round"] == 0
    stream.advance(minutes=5)
    stream.when(AddComment(actor=agent, comment_id=_id(), body="Looking into it."))
    stream.advance(minutes=20)
    asked = stream.now
    stream.when(AddComment(actor=requester, comment_id=_id(), body="Any news?"))
    stream.advance(minutes=10)
    clock = sla_status(chatty, stream.events, stream.now)["next_response"]
    assert clock["round"] == 1 and clock["elapsed_seconds"] == 600
    assert clock["due_at"] == asked + timedelta(minutes=30) and clock["met_at"] is None
    stream.when(AddComment(actor=agent, comment_id=_id(), body="Fixed the relay."))
    met = sla_status(chatty, stream.events, stream.now)["next_response"]
    assert met["met_at"] == stream.now and met["due_at"] is None and not met["breached"]


def test_a_requester_message_before_the_first_response_starts_no_next_response(
    chatty, open_ticket, requester
):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=requester, comment_id=_id(), body="Also the scanner."))
    clock = sla_status(chatty, stream.events, stream.now)["next_response"]
    assert clock["round"] == 0 and clock["due_at"] is None
    assert [t.target for t in next_sla_timers(chatty, stream.events, stream.now)].count(
        "next_response"
    ) == 0


def test_each_round_warns_and_breaches_once(chatty, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=agent, comment_id=_id(), body="On it."))
    for round_ in (1, 2):
        stream.when(AddComment(actor=requester, comment_id=_id(), body="Still broken."))
        stream.advance(minutes=31)
        due = [
            t
            for t in next_sla_timers(chatty, stream.events, stream.now)
            if t.target == "next_response" and t.at <= stream.now
        ]
        assert [(t.kind, t.round) for t in due] == [("breach", round_)]
        stream.when(_alert(due[0]))
        assert not [
            t
            for t in next_sla_timers(chatty, stream.events, stream.now)
            if t.target == "next_response"
        ]
        stream.when(AddComment(actor=agent, comment_id=_id(), body="Trying again."))


def test_a_policy_without_a_next_response_target_runs_no_such_clock(open_ticket, requester):
    stream = open_ticket(requester)
    assert set(sla_status(default_policy(), stream.events, stream.now)) == {
        "first_response",
        "resolution",
    }


# escalation decisions


def test_escalations_follow_the_level_and_target_and_skip_those_taken(open_ticket, requester):
    rules = (
        Escalation("warning", "notify_group", group_id=GROUP),
        Escalation("breach", "reassign", target="first_response", group_id=OTHER_GROUP),
        Escalation("breach", "raise_priority"),
    )
    escalating = policy("escalating", escalations=rules)
    stream = open_ticket(requester)
    stream.advance(minutes=11)  # first response (10) breached, resolution (60) not yet warned
    due = [t for t in next_sla_timers(escalating, stream.events, stream.now) if t.at <= stream.now]
    assert [(t.kind, t.target) for t in due] == [("breach", "first_response")]
    steps = escalation_steps(escalating, due)
    assert [(s.action, s.level, s.target, s.group_id) for s in steps] == [
        ("reassign", "breach", "first_response", OTHER_GROUP),
        ("raise_priority", "breach", "first_response", None),
    ]
    assert steps[0].reason == "first_response_breached" and steps[0].policy_id == "escalating"
    taken = frozenset({SlaEscalation("escalating", "first_response", "breach", "reassign", 0)})
    assert [s.action for s in escalation_steps(escalating, due, taken)] == ["raise_priority"]


def test_a_reassign_escalation_needs_its_group():
    with pytest.raises(ValueError, match="group_id"):
        Escalation("breach", "reassign")
    with pytest.raises(ValueError, match="action"):
        Escalation("breach", "page_the_ceo")


def test_recording_an_escalation_reassigns_once_with_the_system_actor(open_ticket, requester):
    stream = open_ticket(requester)
    command = _escalation("reassign", group_id=GROUP)
    events = stream.when(command)
    assert [e.type for e in events] == ["sla_escalated", "ticket_assigned"]
    assert events[0].data["policy_id"] == "vip" and events[0].data["level"] == "breach"
    assert events[1].data["group_id"] == GROUP and events[1].data["assignee_id"] is None
    assert stream.events[-1].actor_id == Actor.system().user_id
    assert stream.when(command) == []  # a timer run again, a redelivered command


def test_raise_priority_moves_one_step_up_the_matrix(open_ticket, requester):
    stream = open_ticket(requester)  # medium x medium: medium
    events = stream.when(_escalation("raise_priority"))
    assert [e.type for e in events] == ["sla_escalated", "priority_changed"]
    assert events[1].data["priority"] == "high" and events[1].data["previous_priority"] == "medium"
    assert raised_priority("high", "high", False) == ("high", "high", True)
    assert raised_priority("low", "low", False) == ("medium", "medium", False)
    assert raised_priority("high", "low", False) == ("high", "medium", False)
    assert raised_priority("low", "low", True) is None


def test_notify_group_is_the_event_itself_and_names_the_tickets_group(open_ticket, requester):
    stream = open_ticket(requester)
    events = stream.when(_escalation("notify_group"))
    assert [e.type for e in events] == ["sla_escalated"]
    assert events[0].data["group_id"] is None  # the ticket has no group yet
    assert stream.state.group_id is None


def test_only_the_system_escalates(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(_escalation("notify_group", actor=agent))


def _id():
    return str(uuid.uuid4())


def _alert(timer):
    return RecordSlaAlert(
        actor=Actor.system(),
        kind=timer.kind,
        target=timer.target,
        at=timer.at,
        due_at=timer.due_at,
        target_minutes=timer.target_minutes,
        round=timer.round,
    )


def _escalation(action, group_id=None, actor=None):
    return RecordSlaEscalation(
        actor=actor or Actor.system(),
        policy_id="vip",
        target="first_response",
        level="breach",
        action=action,
        group_id=group_id,
        reason="first_response_breached",
        target_minutes=10,
        due_at=datetime(2024, 3, 4, 9, 10, tzinfo=UTC),
    )


# the documents the API and the policy stream keep


def test_a_policy_document_loads_back_into_the_same_policy():
    document = {
        "id": "gold",
        "match": {"type": ["incident"], "group_id": [GROUP], "fields": {"tier": "gold"}},
        "timezone": "Europe/Paris",
        "hours": {"mon": [["08:00", "18:00"]]},
        "holidays": ["2025-12-26"],
        "country": "FR",
        "targets": {
            p: {"first_response_minutes": 5, "resolution_minutes": 50, "next_response_minutes": 9}
            for p in ("low", "medium", "high", "critical")
        },
        "escalations": [{"on": "breach", "action": "reassign", "group_id": OTHER_GROUP}],
    }
    loaded = ConditionalPolicySchema().load(document)
    assert loaded.policy_id == "gold" and loaded.target_minutes("low", "next_response") == 9
    assert loaded.match.matches(ticket(group_id=GROUP, fields={"tier": "gold"}))
    assert loaded.calendar.is_holiday(date(2025, 7, 14))  # Bastille Day, from the country
    assert ConditionalPolicySchema().load(policy_document(loaded)) == loaded
    # a default policy stored before conditions, countries and next responses still loads
    older = {
        "timezone": "UTC",
        "hours": {"mon": [["09:00", "17:00"]]},
        "holidays": [],
        "targets": {
            p: {"first_response_minutes": 15, "resolution_minutes": 240}
            for p in ("low", "medium", "high", "critical")
        },
        "warning_ratio": 0.75,
    }
    default = load_policy_document(older)
    assert default.policy_id == "default" and default.targets_for("low") == (
        "first_response",
        "resolution",
    )
