"""Who may do what on a ticket: requesters on their own tickets, staff everywhere, others
nowhere."""

from __future__ import annotations

import pytest

from services.ticketing.domain import (
    AddComment,
    AddWatcher,
    AssignTicket,
    LinkTicket,
    NotPermitted,
    OpenTicket,
    RemoveWatcher,
    TagTicket,
    Transition,
    UpdateTicket,
    can_view,
)


def test_a_requester_opens_a_ticket_for_themselves(new_stream, new_id, requester):
    stream = new_stream()
    stream.when(
        OpenTicket(actor=requester, ticket_id=new_id(), type="service_request", title="New laptop")
    )
    assert stream.state.requester_id == requester.user_id


def test_a_requester_cannot_open_a_ticket_for_someone_else(new_stream, new_id, requester):
    with pytest.raises(NotPermitted):
        new_stream().when(
            OpenTicket(
                actor=requester,
                ticket_id=new_id(),
                type="incident",
                title="VPN down",
                requester_id=new_id(),
            )
        )


def test_an_agent_opens_a_ticket_on_behalf_of_a_requester(new_stream, new_id, agent):
    caller = new_id()
    stream = new_stream()
    stream.when(
        OpenTicket(
            actor=agent, ticket_id=new_id(), type="incident", title="VPN down", requester_id=caller
        )
    )
    assert (stream.state.requester_id, stream.state.opened_by) == (caller, agent.user_id)


@pytest.mark.parametrize("ticket_type", ["problem", "change"])
def test_a_requester_cannot_open_problem_or_change_tickets(
    new_stream, new_id, requester, ticket_type
):
    with pytest.raises(NotPermitted):
        new_stream().when(
            OpenTicket(actor=requester, ticket_id=new_id(), type=ticket_type, title="Root cause")
        )


@pytest.mark.parametrize("ticket_type", ["problem", "change"])
def test_an_agent_opens_problem_and_change_tickets(new_stream, new_id, agent, ticket_type):
    stream = new_stream()
    stream.when(OpenTicket(actor=agent, ticket_id=new_id(), type=ticket_type, title="Root cause"))
    assert stream.state.type == ticket_type


def test_a_requester_comments_publicly_on_their_own_ticket(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    stream.when(AddComment(actor=requester, comment_id=new_id(), body="Still jamming"))
    assert len(stream.state.comments) == 1


def test_a_requester_cannot_comment_on_someone_elses_ticket(
    open_ticket, requester, stranger, new_id
):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(AddComment(actor=stranger, comment_id=new_id(), body="Mine too"))


def test_a_requester_cannot_write_internal_comments(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(AddComment(actor=requester, comment_id=new_id(), body="psst", internal=True))


@pytest.mark.parametrize("role", ["compliance_officer", "privacy_officer"])
def test_officers_have_no_ticket_rights_of_their_own(
    open_ticket, requester, actor_with, new_id, role
):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(AddComment(actor=actor_with(role), comment_id=new_id(), body="Hello"))


def test_a_stranger_is_refused_before_learning_that_a_ticket_is_closed(
    open_ticket, requester, stranger, new_id
):
    stream = open_ticket(requester, "closed")
    with pytest.raises(NotPermitted):
        stream.when(AddComment(actor=stranger, comment_id=new_id(), body="Hello"))


def test_a_requester_cannot_assign(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(AssignTicket(actor=requester, assignee_id=requester.user_id))


def test_a_requester_cannot_tag(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(TagTicket(actor=requester, add=frozenset({"urgent"})))


def test_a_requester_cannot_link_tickets(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(LinkTicket(actor=requester, kind="relates_to", other_id=new_id()))


def test_a_requester_edits_the_title_of_their_own_ticket(open_ticket, requester):
    stream = open_ticket(requester)
    stream.when(UpdateTicket(actor=requester, title="Printer on floor 4 jams"))
    assert stream.state.title == "Printer on floor 4 jams"


def test_a_requester_cannot_recategorise_their_ticket(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(UpdateTicket(actor=requester, category="hardware/printers"))


def test_a_requester_cannot_retype_their_ticket(open_ticket, requester):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(UpdateTicket(actor=requester, type="service_request"))


def test_a_stranger_cannot_edit_a_ticket(open_ticket, requester, stranger):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(UpdateTicket(actor=stranger, title="Mine now"))


def test_a_requester_adds_a_colleague_as_watcher(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    colleague = new_id()
    stream.when(AddWatcher(actor=requester, user_id=colleague))
    assert colleague in stream.state.watchers


def test_a_watcher_stops_watching_but_cannot_remove_others(open_ticket, requester, actor_with):
    watcher, other = actor_with("requester"), actor_with("requester")
    stream = open_ticket(requester, watchers=frozenset({watcher.user_id, other.user_id}))
    with pytest.raises(NotPermitted):
        stream.when(RemoveWatcher(actor=watcher, user_id=other.user_id))
    stream.when(RemoveWatcher(actor=watcher, user_id=watcher.user_id))
    assert stream.state.watchers == {other.user_id}


def test_a_watcher_cannot_transition_the_ticket(open_ticket, requester, actor_with):
    watcher = actor_with("requester")
    stream = open_ticket(requester, watchers=frozenset({watcher.user_id}))
    with pytest.raises(NotPermitted):
        stream.when(Transition(actor=watcher, to="cancelled"))


def test_staff_requester_and_watchers_can_view_a_ticket_and_strangers_cannot(
    open_ticket, requester, agent, stranger, actor_with
):
    watcher = actor_with("requester")
    stream = open_ticket(requester, watchers=frozenset({watcher.user_id}))
    visible = {who: can_view(stream.state, who) for who in (requester, agent, watcher, stranger)}
    assert visible == {requester: True, agent: True, watcher: True, stranger: False}
