"""SLA alert timers: when warnings and breaches fall due, and recording each of them once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ticketing.domain import Actor, AddComment, RecordSlaAlert, Transition
from services.ticketing.sla import (
    SlaTimer,
    default_policy,
    next_sla_timers,
    recorded_sla_alerts,
    sla_status,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def office():
    return default_policy("UTC")


def fire_due_timers(policy, stream) -> list[str]:
    """What the service's timer does: recompute from the stream, record every alert that is due."""
    recorded = []
    for timer in next_sla_timers(policy, stream.events, stream.now):
        if timer.at <= stream.now:
            recorded += [
                event.type
                for event in stream.when(
                    RecordSlaAlert(
                        actor=Actor.system(),
                        kind=timer.kind,
                        target=timer.target,
                        at=timer.at,
                        due_at=timer.due_at,
                        target_minutes=timer.target_minutes,
                    )
                )
            ]
    return recorded


def test_a_fresh_ticket_has_a_warning_and_a_breach_timer_per_target(office, open_ticket, requester):
    stream = open_ticket(requester)
    assert next_sla_timers(office, stream.events, at(4, 9)) == [
        SlaTimer("warning", "first_response", at(4, 12), at(4, 13), 240),
        SlaTimer("breach", "first_response", at(4, 13), at(4, 13), 240),
        SlaTimer("warning", "resolution", at(6, 11), at(6, 17), 1440),
        SlaTimer("breach", "resolution", at(6, 17), at(6, 17), 1440),
    ]


def test_the_warning_is_recorded_when_it_falls_due(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 11, 59)
    assert fire_due_timers(office, stream) == []
    stream.now = at(4, 12)
    assert fire_due_timers(office, stream) == ["sla_warning"]
    assert stream.events[-1].data == {
        "target": "first_response",
        "due_at": at(4, 13).isoformat(),
        "target_minutes": 240,
    }


def test_a_recorded_alert_is_not_scheduled_again(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 12, 30)
    fire_due_timers(office, stream)
    assert fire_due_timers(office, stream) == []
    kinds = [(t.kind, t.target) for t in next_sla_timers(office, stream.events, stream.now)]
    assert ("warning", "first_response") not in kinds


def test_the_breach_is_recorded_when_it_falls_due(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 12)
    fire_due_timers(office, stream)
    stream.now = at(4, 13)
    assert fire_due_timers(office, stream) == ["sla_breached"]
    assert ("breach", "first_response", 240, 0) in recorded_sla_alerts(stream.events)


def test_a_late_timer_records_the_breach_without_a_stale_warning(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 16)
    assert fire_due_timers(office, stream) == ["sla_breached"]


def test_a_breached_target_has_no_more_timers(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 14)
    fire_due_timers(office, stream)
    assert {t.target for t in next_sla_timers(office, stream.events, stream.now)} == {"resolution"}


def test_a_first_response_cancels_its_timers(office, open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="On it"), at=at(4, 10))
    assert {t.target for t in next_sla_timers(office, stream.events, stream.now)} == {"resolution"}


def test_a_paused_resolution_clock_has_no_timers(office, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_requester"), at=at(4, 10))
    assert next_sla_timers(office, stream.events, stream.now) == []


def test_resuming_moves_the_resolution_timers_by_the_pause(office, open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_requester"), at=at(4, 10))
    stream.when(Transition(actor=agent, to="in_progress"), at=at(5, 10))
    breach = [t for t in next_sla_timers(office, stream.events, stream.now) if t.kind == "breach"]
    assert breach == [SlaTimer("breach", "resolution", at(7, 17), at(7, 17), 1440)]


def test_a_closed_ticket_has_no_timers(office, open_ticket, requester):
    stream = open_ticket(requester, "closed")
    assert next_sla_timers(office, stream.events, at(11, 9)) == []


def test_recorded_alerts_do_not_change_the_computed_status(office, open_ticket, requester):
    stream = open_ticket(requester)
    stream.now = at(4, 13)
    before = sla_status(office, stream.events, stream.now)
    fire_due_timers(office, stream)
    assert sla_status(office, stream.events, stream.now) == before
