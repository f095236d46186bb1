"""SLA clocks rebuilt from a ticket's events: elapsed business time, pauses, warnings, breaches."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.ticketing.domain import AddComment, OpenTicket, SetPriority, Transition
from services.ticketing.sla import BusinessCalendar, SlaPolicy, default_policy, sla_status

HOUR = 3600


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def office() -> SlaPolicy:
    """Monday-Friday 09:00-17:00 UTC; medium: 4 h first response, 3 business days resolution."""
    return default_policy("UTC")


def test_a_fresh_ticket_counts_business_time_towards_both_targets(office, open_ticket, requester):
    stream = open_ticket(requester)
    status = sla_status(office, stream.events, at(4, 10))
    assert status["first_response"] == {
        "target_minutes": 240,
        "elapsed_seconds": HOUR,
        "remaining_seconds": 3 * HOUR,
        "paused": False,
        "stopped": False,
        "breached": False,
        "warned": False,
        "due_at": at(4, 13),
        "met_at": None,
    }
    assert status["resolution"]["due_at"] == at(6, 17)


def test_a_target_is_warned_at_75_percent(office, open_ticket, requester):
    stream = open_ticket(requester)
    assert sla_status(office, stream.events, at(4, 11, 59))["first_response"]["warned"] is False
    assert sla_status(office, stream.events, at(4, 12))["first_response"]["warned"] is True


def test_a_target_is_breached_once_its_time_is_spent(office, open_ticket, requester):
    stream = open_ticket(requester)
    before, after = (
        sla_status(office, stream.events, now)["first_response"]
        for now in (at(4, 12, 59), at(4, 14))
    )
    assert (before["breached"], after["breached"]) == (False, True)
    assert after["remaining_seconds"] == -HOUR
    assert after["due_at"] == at(4, 13)  # the deadline that passed


def test_a_ticket_opened_on_friday_evening_is_due_on_monday(office, new_stream, new_id, requester):
    stream = new_stream()
    stream.when(
        OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="VPN"), at=at(8, 16)
    )
    status = sla_status(office, stream.events, at(9, 12))["first_response"]
    assert (status["elapsed_seconds"], status["due_at"]) == (HOUR, at(11, 12))


def test_holidays_push_the_deadline(new_stream, new_id, requester):
    policy = SlaPolicy(BusinessCalendar.weekdays("UTC", holidays=frozenset({date(2024, 3, 5)})))
    stream = new_stream()
    stream.when(
        OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="VPN"), at=at(4, 15)
    )
    assert sla_status(policy, stream.events, at(4, 16))["first_response"]["due_at"] == at(6, 11)


def test_deadlines_follow_local_hours_across_a_dst_change(new_stream, new_id, requester):
    stream = new_stream()
    friday_4pm_cet = at(29, 15)
    stream.when(
        OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="VPN"),
        at=friday_4pm_cet,
    )
    status = sla_status(default_policy("Europe/Paris"), stream.events, friday_4pm_cet)
    assert status["first_response"]["due_at"] == datetime(2024, 4, 1, 10, tzinfo=UTC)  # 12:00 CEST


def test_a_24x7_policy_counts_nights_and_weekends(new_stream, new_id, agent):
    policy = SlaPolicy(BusinessCalendar.always_open("UTC"))
    stream = new_stream()
    saturday_3am = at(9, 3)
    stream.when(
        OpenTicket(
            actor=agent,
            ticket_id=new_id(),
            type="incident",
            title="Core switch down",
            requester_id=new_id(),
            critical=True,
        ),
        at=saturday_3am,
    )
    status = sla_status(policy, stream.events, saturday_3am)
    assert status["first_response"]["due_at"] == at(9, 3, 15)
    assert status["resolution"]["due_at"] == at(9, 7)


def test_the_first_response_stops_its_clock(office, open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="On it"), at=at(4, 11))
    status = sla_status(office, stream.events, at(5, 16))["first_response"]
    assert (status["met_at"], status["elapsed_seconds"], status["due_at"]) == (
        at(4, 11),
        2 * HOUR,
        None,
    )
    assert status["breached"] is False


def test_a_first_response_after_the_deadline_is_met_but_breached(
    office, open_ticket, requester, agent
):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="in_progress"), at=at(4, 15))
    status = sla_status(office, stream.events, at(4, 16))["first_response"]
    assert (status["met_at"], status["breached"]) == (at(4, 15), True)


def test_the_resolution_clock_pauses_while_pending(office, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="in_progress"), at=at(4, 10))
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_third_party"), at=at(4, 11))
    status = sla_status(office, stream.events, at(5, 11))["resolution"]
    assert (status["elapsed_seconds"], status["paused"], status["due_at"]) == (2 * HOUR, True, None)


def test_the_resolution_clock_resumes_where_it_paused(office, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_third_party"), at=at(4, 11))
    stream.when(Transition(actor=agent, to="in_progress"), at=at(5, 11))
    status = sla_status(office, stream.events, at(5, 12))["resolution"]
    assert (status["elapsed_seconds"], status["paused"]) == (3 * HOUR, False)
    assert status["due_at"] == at(7, 17)  # 21 business hours after Tuesday noon


def test_the_first_response_clock_does_not_pause_while_pending(office, open_ticket, agent):
    stream = open_ticket(agent)  # an agent's own ticket: their moves are not a response
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_third_party"), at=at(4, 10))
    status = sla_status(office, stream.events, at(4, 12))["first_response"]
    assert (status["elapsed_seconds"], status["paused"], status["met_at"]) == (
        3 * HOUR,
        False,
        None,
    )


def test_resolving_meets_the_resolution_target_and_a_reopen_resumes_it(
    office, open_ticket, requester, agent
):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="resolved"), at=at(4, 12))
    resolved = sla_status(office, stream.events, at(5, 12))["resolution"]
    assert (resolved["met_at"], resolved["elapsed_seconds"]) == (at(4, 12), 3 * HOUR)
    assert resolved["due_at"] is None
    stream.when(Transition(actor=requester, to="in_progress"), at=at(5, 9))
    reopened = sla_status(office, stream.events, at(5, 10))["resolution"]
    assert (reopened["met_at"], reopened["elapsed_seconds"]) == (None, 4 * HOUR)


def test_closing_keeps_the_time_of_resolution_as_met(office, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="resolved"), at=at(4, 12))
    stream.when(Transition(actor=requester, to="closed"), at=at(5, 12))
    assert sla_status(office, stream.events, at(6, 12))["resolution"]["met_at"] == at(4, 12)


def test_cancelling_stops_both_clocks_unmet(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.when(Transition(actor=requester, to="cancelled"), at=at(4, 10))
    status = sla_status(office, stream.events, at(8, 10))
    for target in ("first_response", "resolution"):
        assert (
            status[target]["stopped"],
            status[target]["met_at"],
            status[target]["elapsed_seconds"],
            status[target]["due_at"],
        ) == (True, None, HOUR, None)


def test_a_priority_change_applies_the_new_target_to_all_time_spent(
    office, open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="On it"), at=at(4, 10))
    stream.when(SetPriority(actor=agent, critical=True), at=at(4, 11))
    status = sla_status(office, stream.events, at(4, 12))["resolution"]
    assert (status["target_minutes"], status["due_at"], status["warned"]) == (240, at(4, 13), True)


def test_sla_status_needs_the_opening_event(office, open_ticket, requester):
    stream = open_ticket(requester, "in_progress")
    with pytest.raises(ValueError):
        sla_status(office, stream.events[1:], at(4, 10))
