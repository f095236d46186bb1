"""What a line of the bulk import stands for: the times its status takes, the urgency and
impact of a priority given alone, and the moves that bring a new ticket to its status."""

import pytest
from marshmallow import ValidationError

from services.ticketing.domain import MATRIX
from services.ticketing.imports import _levels, _moves
from services.ticketing.schemas import ImportLineSchema
from shared import errors

LINE = {
    "external_id": "INC-1",
    "type": "incident",
    "title": "Printer jams",
    "requester_id": "5d3b1f0e-8d5c-4b0e-9a3e-1f2d3c4b5a69",
    "opened_at": "2024-03-04T09:00:00+00:00",
}


def load(**fields):
    return ImportLineSchema().load({**LINE, **fields})


@pytest.mark.parametrize(
    ("status", "times", "missing"),
    [
        ("resolved", {}, "resolved_at"),
        ("closed", {"resolved_at": "2024-03-05T09:00:00+00:00"}, "closed_at"),
        ("cancelled", {}, "cancelled_at"),
    ],
)
def test_a_status_that_ends_a_ticket_needs_its_time(status, times, missing):
    with pytest.raises(ValidationError) as refused:
        load(status=status, **times)
    assert missing in refused.value.messages


def test_a_time_the_status_does_not_take_is_refused_and_naive_times_too():
    with pytest.raises(ValidationError) as refused:
        load(status="new", resolved_at="2024-03-05T09:00:00+00:00")
    assert "resolved_at" in refused.value.messages
    with pytest.raises(ValidationError) as naive:
        load(opened_at="2024-03-04T09:00:00")
    assert "opened_at" in naive.value.messages


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_a_priority_alone_stands_for_urgency_and_impact_that_give_it(priority):
    urgency, impact = _levels(load(priority=priority))
    assert MATRIX[(urgency, impact)] == priority


def test_a_priority_that_its_urgency_and_impact_do_not_give_is_refused():
    assert _levels(load(priority="high", urgency="high", impact="medium")) == ("high", "medium")
    with pytest.raises(errors.Unprocessable):
        _levels(load(priority="low", urgency="high", impact="high"))
    with pytest.raises(errors.Unprocessable):
        _levels(load(priority="low", critical=True))


def test_the_moves_to_a_closed_ticket_resolve_it_then_close_it_at_their_times():
    line = load(
        status="closed",
        resolved_at="2024-03-05T09:00:00+00:00",
        closed_at="2024-03-06T09:00:00+00:00",
    )
    assert [(at.isoformat(), to) for at, to, _ in _moves(line)] == [
        ("2024-03-05T09:00:00+00:00", "resolved"),
        ("2024-03-06T09:00:00+00:00", "closed"),
    ]
    closed_only = load(status="closed", closed_at="2024-03-06T09:00:00+00:00")
    assert [to for _, to, _ in _moves(closed_only)] == ["resolved", "closed"]
    pending = load(status="pending")
    assert _moves(pending) == [(pending["opened_at"], "pending", "awaiting_third_party")]
    assert _moves(load()) == []
