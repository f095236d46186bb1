"""Folding events: replay equals incremental evolve, streams must start with ticket_opened."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.ticketing.domain import (
    EVENT_TYPES,
    AddComment,
    AddWatcher,
    AssignTicket,
    LinkTicket,
    RecordedEvent,
    SetPriority,
    TagTicket,
    TicketingError,
    Transition,
    UpdateTicket,
    evolve,
    replay,
)


@pytest.fixture
def busy(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    commands = [
        UpdateTicket(actor=requester, description="More detail"),
        AddWatcher(actor=requester, user_id=new_id()),
        AssignTicket(actor=agent, assignee_id=agent.user_id, group_id=new_id()),
        SetPriority(actor=agent, urgency="high", critical=True),
        TagTicket(actor=agent, add=frozenset({"printer"})),
        LinkTicket(actor=agent, kind="relates_to", other_id=new_id()),
        AddComment(actor=agent, comment_id=new_id(), body="Checking", internal=True),
        Transition(actor=agent, to="pending", reason="awaiting_requester"),
        AddComment(actor=requester, comment_id=new_id(), body="Done"),
        Transition(actor=agent, to="resolved"),
        Transition(actor=requester, to="in_progress"),
        Transition(actor=agent, to="resolved"),
        Transition(actor=requester, to="closed"),
    ]
    for command in commands:
        stream.advance(minutes=7)
        stream.when(command)
    return stream


def test_replaying_the_stream_rebuilds_the_state_built_event_by_event(busy):
    assert replay(busy.events) == busy.state


def test_the_rebuilt_state_reflects_every_event(busy, requester):
    state = replay(busy.events)
    assert (state.status, state.priority, state.reopen_count, state.version) == (
        "closed",
        "critical",
        1,
        len(busy.events),
    )
    assert (state.description, len(state.comments), state.tags) == ("More detail", 2, {"printer"})
    assert state.closed_at == busy.now


def test_every_decided_event_type_is_a_declared_ticketing_event(busy):
    assert {event.type for event in busy.events} <= EVENT_TYPES


def test_an_empty_stream_replays_to_no_ticket():
    assert replay([]) is None


def test_a_stream_must_start_with_ticket_opened(busy):
    with pytest.raises(TicketingError):
        replay(busy.events[1:])


def test_an_unknown_event_type_only_advances_the_version(busy):
    later = busy.events[-1].occurred_at + timedelta(minutes=1)
    future = RecordedEvent(
        "ticket_teleported", {"where": "moon"}, {}, busy.state.version + 1, later, "x"
    )
    evolved = evolve(busy.state, future)
    assert evolved.version == busy.state.version + 1
    assert evolved.status == busy.state.status
