"""Priority from urgency x impact, and the explicit critical override."""

from __future__ import annotations

import pytest

from services.ticketing.domain import NotPermitted, OpenTicket, SetPriority, ValidationFailed

EXPECTED = [
    ("high", "low", "medium"),
    ("high", "medium", "high"),
    ("high", "high", "high"),
    ("medium", "low", "low"),
    ("medium", "medium", "medium"),
    ("medium", "high", "high"),
    ("low", "low", "low"),
    ("low", "medium", "low"),
    ("low", "high", "medium"),
]


@pytest.mark.parametrize(("urgency", "impact", "priority"), EXPECTED)
def test_opening_derives_priority_from_urgency_and_impact(
    open_ticket, requester, urgency, impact, priority
):
    stream = open_ticket(requester, urgency=urgency, impact=impact)
    assert stream.events[0].data["priority"] == priority
    assert stream.state.priority == priority


@pytest.mark.parametrize(("urgency", "impact", "priority"), EXPECTED)
def test_changing_urgency_and_impact_rederives_priority(
    open_ticket, requester, agent, urgency, impact, priority
):
    stream = open_ticket(requester, urgency="low", impact="low")
    stream.when(SetPriority(actor=agent, urgency=urgency, impact=impact))
    assert stream.state.priority == priority


def test_the_matrix_never_yields_critical(open_ticket, requester):
    stream = open_ticket(requester, urgency="high", impact="high")
    assert stream.state.priority == "high"


def test_an_agent_sets_critical_explicitly(open_ticket, requester, agent):
    stream = open_ticket(requester)
    [event] = stream.when(SetPriority(actor=agent, critical=True))
    assert event.data["priority"] == "critical"
    assert event.data["previous_priority"] == "medium"
    assert stream.state.priority == "critical"


def test_the_critical_override_survives_urgency_and_impact_changes(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(SetPriority(actor=agent, critical=True))
    stream.when(SetPriority(actor=agent, urgency="low", impact="low"))
    assert stream.state.priority == "critical"
    assert (stream.state.urgency, stream.state.impact) == ("low", "low")


def test_clearing_the_override_returns_to_the_matrix(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(SetPriority(actor=agent, critical=True))
    stream.when(SetPriority(actor=agent, urgency="low", impact="high"))
    stream.when(SetPriority(actor=agent, critical=False))
    assert stream.state.priority == "medium"


def test_an_agent_may_open_a_ticket_as_critical(new_stream, new_id, agent):
    stream = new_stream()
    stream.when(
        OpenTicket(
            actor=agent,
            ticket_id=new_id(),
            type="incident",
            title="Mail down",
            requester_id=new_id(),
            critical=True,
        )
    )
    assert stream.state.priority == "critical"


def test_a_requester_cannot_open_a_ticket_as_critical(new_stream, new_id, requester):
    with pytest.raises(NotPermitted):
        new_stream().when(
            OpenTicket(
                actor=requester,
                ticket_id=new_id(),
                type="incident",
                title="Everything is down",
                critical=True,
            )
        )


def test_a_requester_cannot_set_critical_on_their_own_ticket(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(SetPriority(actor=requester, critical=True))


def test_a_requester_cannot_change_urgency_after_opening(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(SetPriority(actor=requester, urgency="high"))


def test_setting_the_same_priority_records_nothing(open_ticket, requester, agent):
    stream = open_ticket(requester, urgency="high", impact="low")
    assert stream.when(SetPriority(actor=agent, urgency="high", impact="low", critical=False)) == []


def test_an_unknown_urgency_is_refused(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed) as failed:
        stream.when(SetPriority(actor=agent, urgency="extreme"))
    assert failed.value.field == "urgency"
