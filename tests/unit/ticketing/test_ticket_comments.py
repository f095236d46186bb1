"""Comments: authorship, visibility of internal notes, editing, first response, requester
replies."""

from __future__ import annotations

import pytest

from services.ticketing.domain import (
    ERASED,
    AddComment,
    EditComment,
    NotPermitted,
    RecordedEvent,
    Transition,
    evolve,
    visible_comments,
)


@pytest.fixture
def discussed(open_ticket, requester, agent, new_id):
    """A ticket with a public reply from the requester, then an internal note from an agent."""
    stream = open_ticket(requester)
    stream.when(AddComment(actor=requester, comment_id=new_id(), body="Any news?"))
    stream.when(
        AddComment(actor=agent, comment_id=new_id(), body="Vendor ticket 4711", internal=True)
    )
    return stream


def test_a_comment_body_is_personal_data_of_its_author(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    comment_id = new_id()
    [event] = stream.when(AddComment(actor=agent, comment_id=comment_id, body="On my way"))
    assert event.data == {"comment_id": comment_id, "internal": False, "first_response": True}
    assert event.pii == {"body": {"subject_id": agent.user_id, "value": "On my way"}}
    assert stream.state.comments[0].author_id == agent.user_id


def test_the_requester_does_not_see_internal_comments(discussed, requester):
    assert [c.body for c in visible_comments(discussed.state, requester)] == ["Any news?"]


def test_a_watcher_does_not_see_internal_comments(discussed, actor_with):
    assert [c.internal for c in visible_comments(discussed.state, actor_with("requester"))] == [
        False
    ]


def test_agents_and_admins_see_every_comment_in_order(discussed, agent, admin):
    expected = ["Any news?", "Vendor ticket 4711"]
    assert [c.body for c in visible_comments(discussed.state, agent)] == expected
    assert [c.body for c in visible_comments(discussed.state, admin)] == expected


def test_a_retried_comment_is_recorded_once(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    command = AddComment(actor=requester, comment_id=new_id(), body="Hello")
    stream.when(command)
    assert stream.when(command) == []
    assert len(stream.state.comments) == 1


def test_the_author_edits_their_comment(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    comment_id = new_id()
    stream.when(AddComment(actor=requester, comment_id=comment_id, body="Printr"))
    stream.when(EditComment(actor=requester, comment_id=comment_id, body="Printer"))
    assert stream.state.comment(comment_id).body == "Printer"
    assert stream.state.comment(comment_id).edited_at == stream.now


def test_nobody_else_edits_a_comment(open_ticket, requester, admin, new_id):
    stream = open_ticket(requester)
    comment_id = new_id()
    stream.when(AddComment(actor=requester, comment_id=comment_id, body="Mine"))
    with pytest.raises(NotPermitted):
        stream.when(EditComment(actor=admin, comment_id=comment_id, body="Yours"))


def test_an_erased_comment_shows_the_erased_placeholder(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    comment_id = new_id()
    stream.when(AddComment(actor=requester, comment_id=comment_id, body="My phone is 0612345678"))
    shredded = [
        RecordedEvent(
            e.type, e.data, {field: ERASED for field in e.pii}, e.version, e.occurred_at, e.actor_id
        )
        for e in stream.events
    ]
    state = None
    for event in shredded:
        state = evolve(state, event)
    assert (state.description, state.comment(comment_id).body) == (ERASED, ERASED)


def test_a_public_agent_comment_is_the_first_response(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.advance(minutes=20)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="Looking into it"))
    assert stream.state.first_responded_at == stream.now


def test_an_internal_comment_is_not_a_first_response(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.when(
        AddComment(actor=agent, comment_id=new_id(), body="Probably the fuser", internal=True)
    )
    assert stream.state.first_responded_at is None


def test_the_requesters_own_comment_is_not_a_first_response(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=requester, comment_id=new_id(), body="Hello?"))
    assert stream.state.first_responded_at is None


def test_an_agent_commenting_on_their_own_ticket_is_not_a_first_response(
    open_ticket, agent, new_id
):
    stream = open_ticket(agent)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="More details"))
    assert stream.state.first_responded_at is None


def test_an_agent_moving_the_ticket_out_of_new_is_the_first_response(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.advance(minutes=5)
    [event] = stream.when(Transition(actor=agent, to="in_progress"))
    assert event.data["first_response"] is True
    assert stream.state.first_responded_at == stream.now


def test_only_the_first_response_is_flagged(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="First"))
    responded_at = stream.state.first_responded_at
    stream.advance(hours=1)
    [event] = stream.when(AddComment(actor=agent, comment_id=new_id(), body="Second"))
    assert event.data["first_response"] is False
    assert stream.state.first_responded_at == responded_at


def test_a_requester_reply_resumes_a_ticket_awaiting_them(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester, "in_progress")
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_requester"))
    events = stream.when(AddComment(actor=requester, comment_id=new_id(), body="Here is the log"))
    assert [e.type for e in events] == ["comment_added", "status_changed"]
    assert events[1].data["reason"] == "requester_replied"
    assert stream.state.status == "in_progress"


def test_a_requester_reply_does_not_resume_a_ticket_awaiting_a_third_party(
    open_ticket, requester, new_id
):
    stream = open_ticket(requester, "pending")
    stream.when(AddComment(actor=requester, comment_id=new_id(), body="Any news?"))
    assert stream.state.status == "pending"
