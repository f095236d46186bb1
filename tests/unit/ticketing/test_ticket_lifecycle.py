"""The ticket lifecycle: every allowed and every refused transition, reasons, requester moves."""

from __future__ import annotations

import pytest

from services.ticketing.domain import (
    ALLOWED,
    REQUESTER_TRANSITIONS,
    STATUSES,
    InvalidTransition,
    NotPermitted,
    Transition,
    ValidationFailed,
)

ALLOWED_PAIRS = [(before, after) for before in STATUSES for after in sorted(ALLOWED[before])]
REFUSED_PAIRS = [
    (before, after) for before in STATUSES for after in STATUSES if after not in ALLOWED[before]
]


def reason_for(status: str) -> str | None:
    return "awaiting_requester" if status == "pending" else None


def test_the_table_covers_every_status():
    assert set(ALLOWED) == set(STATUSES)
    assert len(ALLOWED_PAIRS) + len(REFUSED_PAIRS) == len(STATUSES) ** 2


@pytest.mark.parametrize(("before", "after"), ALLOWED_PAIRS)
def test_an_agent_makes_every_allowed_transition(open_ticket, requester, agent, before, after):
    stream = open_ticket(requester, before)
    events = stream.when(Transition(actor=agent, to=after, reason=reason_for(after)))
    assert [e.type for e in events] == ["status_changed"]
    assert (events[0].data["from_status"], events[0].data["to_status"]) == (before, after)
    assert stream.state.status == after


@pytest.mark.parametrize(("before", "after"), REFUSED_PAIRS)
def test_every_other_transition_is_refused_with_the_allowed_targets(
    open_ticket, requester, agent, before, after
):
    stream = open_ticket(requester, before)
    with pytest.raises(InvalidTransition) as refused:
        stream.when(Transition(actor=agent, to=after, reason=reason_for(after)))
    assert refused.value.current == before
    assert refused.value.requested == after
    assert refused.value.allowed == sorted(ALLOWED[before])


def test_terminal_statuses_allow_no_transition():
    assert ALLOWED["closed"] == ALLOWED["cancelled"] == frozenset()


def test_an_unknown_status_is_a_validation_error(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed) as failed:
        stream.when(Transition(actor=agent, to="on_hold"))
    assert failed.value.field == "to"


def test_moving_to_pending_requires_a_reason(open_ticket, requester, agent):
    stream = open_ticket(requester, "in_progress")
    with pytest.raises(ValidationFailed) as failed:
        stream.when(Transition(actor=agent, to="pending"))
    assert failed.value.field == "reason"


def test_moving_to_pending_refuses_an_unknown_reason(open_ticket, requester, agent):
    stream = open_ticket(requester, "in_progress")
    with pytest.raises(ValidationFailed):
        stream.when(Transition(actor=agent, to="pending", reason="lunch"))


def test_the_pending_reason_is_recorded_and_cleared_on_resume(open_ticket, requester, agent):
    stream = open_ticket(requester, "in_progress")
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_change"))
    assert stream.state.pending_reason == "awaiting_change"
    stream.when(Transition(actor=agent, to="in_progress"))
    assert stream.state.pending_reason is None


def test_only_a_move_to_pending_takes_a_reason(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed):
        stream.when(Transition(actor=agent, to="in_progress", reason="awaiting_change"))


def test_reopening_a_resolved_ticket_counts_the_reopen_and_clears_the_resolution(
    open_ticket, requester, agent
):
    stream = open_ticket(requester, "resolved")
    stream.when(Transition(actor=agent, to="in_progress"))
    assert (stream.state.reopen_count, stream.state.resolved_at) == (1, None)


def test_a_transition_note_travels_as_personal_data_of_its_author(open_ticket, requester, agent):
    stream = open_ticket(requester, "in_progress")
    note = "Replaced the fuser unit"
    [event] = stream.when(Transition(actor=agent, to="resolved", note=note))
    assert event.pii == {"note": {"subject_id": agent.user_id, "value": note}}
    assert note not in str(event.data)


REQUESTER_PAIRS = [pair for pair in ALLOWED_PAIRS if pair in REQUESTER_TRANSITIONS]
STAFF_ONLY_PAIRS = [pair for pair in ALLOWED_PAIRS if pair not in REQUESTER_TRANSITIONS]


def test_requesters_may_cancel_accept_and_reopen_only():
    assert set(REQUESTER_PAIRS) == {
        ("new", "cancelled"),
        ("in_progress", "cancelled"),
        ("pending", "cancelled"),
        ("resolved", "closed"),
        ("resolved", "in_progress"),
    }


@pytest.mark.parametrize(("before", "after"), REQUESTER_PAIRS)
def test_a_requester_makes_their_own_moves_on_their_own_ticket(
    open_ticket, requester, before, after
):
    stream = open_ticket(requester, before)
    stream.when(Transition(actor=requester, to=after))
    assert stream.state.status == after


@pytest.mark.parametrize(("before", "after"), REQUESTER_PAIRS)
def test_a_requester_cannot_move_someone_elses_ticket(
    open_ticket, requester, stranger, before, after
):
    stream = open_ticket(requester, before)
    with pytest.raises(NotPermitted):
        stream.when(Transition(actor=stranger, to=after))


@pytest.mark.parametrize(("before", "after"), STAFF_ONLY_PAIRS)
def test_a_requester_cannot_make_staff_moves_on_their_own_ticket(
    open_ticket, requester, before, after
):
    stream = open_ticket(requester, before)
    with pytest.raises(NotPermitted):
        stream.when(Transition(actor=requester, to=after, reason=reason_for(after)))


@pytest.mark.parametrize(("before", "after"), STAFF_ONLY_PAIRS)
def test_an_admin_makes_staff_moves_too(open_ticket, requester, admin, before, after):
    stream = open_ticket(requester, before)
    stream.when(Transition(actor=admin, to=after, reason=reason_for(after)))
    assert stream.state.status == after
