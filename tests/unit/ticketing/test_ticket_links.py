"""Links between tickets, their mirrors on the other stream, and resolving children of a closed
parent."""

from __future__ import annotations

import pytest

from services.ticketing.domain import (
    Actor,
    LinkTicket,
    ResolveWithParent,
    Transition,
    UnlinkTicket,
    ValidationFailed,
    children_to_resolve,
    mirror_command,
    parent_of,
)


@pytest.mark.parametrize(
    ("kind", "inverse"),
    [
        ("relates_to", "relates_to"),
        ("duplicate_of", "duplicated_by"),
        ("duplicated_by", "duplicate_of"),
        ("parent_of", "child_of"),
        ("child_of", "parent_of"),
    ],
)
def test_a_link_is_mirrored_with_its_inverse_on_the_other_ticket(
    open_ticket, requester, agent, kind, inverse
):
    here, there = open_ticket(requester), open_ticket(requester)
    [event] = here.when(LinkTicket(actor=agent, kind=kind, other_id=there.state.ticket_id))
    other_id, command = mirror_command(here.state.ticket_id, event.type, event.data, Actor.system())
    assert other_id == there.state.ticket_id
    there.when(command)
    assert there.state.linked(inverse) == [here.state.ticket_id]


def test_a_mirrored_link_is_not_mirrored_back(open_ticket, requester, agent):
    here, there = open_ticket(requester), open_ticket(requester)
    [event] = here.when(LinkTicket(actor=agent, kind="parent_of", other_id=there.state.ticket_id))
    _, command = mirror_command(here.state.ticket_id, event.type, event.data, Actor.system())
    [mirrored] = there.when(command)
    assert (
        mirror_command(there.state.ticket_id, mirrored.type, mirrored.data, Actor.system()) is None
    )


def test_linking_twice_records_one_link(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    other = new_id()
    stream.when(LinkTicket(actor=agent, kind="relates_to", other_id=other))
    assert stream.when(LinkTicket(actor=agent, kind="relates_to", other_id=other)) == []


def test_a_ticket_cannot_link_to_itself(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed):
        stream.when(LinkTicket(actor=agent, kind="relates_to", other_id=stream.state.ticket_id))


def test_a_ticket_has_at_most_one_parent(open_ticket, requester, agent, new_id):
    stream = open_ticket(requester)
    stream.when(LinkTicket(actor=agent, kind="child_of", other_id=new_id()))
    with pytest.raises(ValidationFailed):
        stream.when(LinkTicket(actor=agent, kind="child_of", other_id=new_id()))


def test_a_ticket_cannot_be_parent_and_child_of_the_same_ticket(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    other = new_id()
    stream.when(LinkTicket(actor=agent, kind="child_of", other_id=other))
    with pytest.raises(ValidationFailed):
        stream.when(LinkTicket(actor=agent, kind="parent_of", other_id=other))


def test_a_closed_ticket_can_still_be_linked_as_the_original_of_a_duplicate(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester, "closed")
    stream.when(
        LinkTicket(actor=Actor.system(), kind="duplicated_by", other_id=new_id(), mirrored=True)
    )
    assert len(stream.state.links) == 1


def test_unlinking_is_mirrored_too(open_ticket, requester, agent):
    here, there = open_ticket(requester), open_ticket(requester)
    for command in (
        LinkTicket(actor=agent, kind="parent_of", other_id=there.state.ticket_id),
        UnlinkTicket(actor=agent, kind="parent_of", other_id=there.state.ticket_id),
    ):
        [event] = here.when(command)
        _, mirror = mirror_command(here.state.ticket_id, event.type, event.data, Actor.system())
        there.when(mirror)
    assert (here.state.links, there.state.links) == (frozenset(), frozenset())


def test_a_closed_parent_lists_its_children_to_resolve(open_ticket, requester, agent, new_id):
    parent = open_ticket(requester, "resolved")
    children = sorted([new_id(), new_id()])
    for child in children:
        parent.when(LinkTicket(actor=agent, kind="parent_of", other_id=child))
    parent.when(LinkTicket(actor=agent, kind="relates_to", other_id=new_id()))
    assert children_to_resolve(parent.state) == []
    parent.when(Transition(actor=agent, to="closed"))
    assert children_to_resolve(parent.state) == children


def test_a_child_is_resolved_with_its_closed_parent(open_ticket, requester, agent, new_id):
    child, parent_id = open_ticket(requester, "pending"), new_id()
    child.when(LinkTicket(actor=agent, kind="child_of", other_id=parent_id))
    [event] = child.when(ResolveWithParent(actor=Actor.system(), parent_id=parent_id))
    assert event.data["reason"] == "parent_closed"
    assert event.data["parent_id"] == parent_id
    assert child.state.status == "resolved"
    assert parent_of(child.state) == parent_id


@pytest.mark.parametrize("status", ["resolved", "closed", "cancelled"])
def test_resolving_with_the_parent_leaves_a_finished_child_alone(
    open_ticket, requester, agent, new_id, status
):
    child, parent_id = open_ticket(requester, status), new_id()
    child.when(LinkTicket(actor=agent, kind="child_of", other_id=parent_id))
    assert child.when(ResolveWithParent(actor=Actor.system(), parent_id=parent_id)) == []


def test_resolving_with_a_parent_that_is_no_longer_linked_does_nothing(
    open_ticket, requester, new_id
):
    child = open_ticket(requester, "in_progress")
    assert child.when(ResolveWithParent(actor=Actor.system(), parent_id=new_id())) == []
