"""People named on a ticket are UUIDs of members (assignees: staff); lists are bounded; titles
sealed."""

import uuid
from datetime import UTC, datetime

import pytest

from services.ticketing.domain import (
    AddWatcher,
    AssignTicket,
    ChangeWatchers,
    LinkTicket,
    OpenTicket,
    RecordedEvent,
    RectifyPersonalText,
    TagTicket,
    UpdateTicket,
    ValidationFailed,
    decide,
    evolve,
    replay,
)


def ids(n):
    return [str(uuid.uuid4()) for _ in range(n)]


@pytest.mark.parametrize(
    "field, command",
    [
        (
            "requester_id",
            lambda a: OpenTicket(
                actor=a,
                ticket_id=str(uuid.uuid4()),
                type="incident",
                title="t",
                requester_id="jane.roe@example.test",
            ),
        ),
        (
            "watchers",
            lambda a: OpenTicket(
                actor=a,
                ticket_id=str(uuid.uuid4()),
                type="incident",
                title="t",
                watchers=frozenset({"Jane Roe"}),
            ),
        ),
    ],
)
def test_an_id_that_is_no_uuid_is_refused_naming_its_field(field, command, agent):
    with pytest.raises(ValidationFailed) as refused:
        decide(None, command(agent), datetime.now(UTC), {})
    assert refused.value.field == field


@pytest.mark.parametrize(
    "field, changes",
    [
        ("assignee_id", {"assignee_id": "jane.roe@example.test"}),
        ("group_id", {"group_id": "Network team"}),
    ],
)
def test_an_assignment_to_no_uuid_is_refused_naming_its_field(
    open_ticket, requester, agent, field, changes
):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed) as refused:
        stream.when(AssignTicket(actor=agent, **changes))
    assert refused.value.field == field


def test_a_watcher_who_is_not_a_member_is_refused(open_ticket, requester, agent, start):
    stream = open_ticket(requester)
    [member, stranger] = ids(2)
    with pytest.raises(ValidationFailed) as refused:
        decide(
            stream.state,
            AddWatcher(actor=agent, user_id=stranger),
            start,
            {member: frozenset({"requester"})},
        )
    assert refused.value.field == "watchers"
    assert decide(
        stream.state,
        AddWatcher(actor=agent, user_id=member),
        start,
        {member: frozenset({"requester"})},
    )


def test_an_assignee_must_be_staff_and_the_caller_needs_no_look_up(
    open_ticket, requester, agent, start
):
    stream = open_ticket(requester)
    plain, colleague = ids(2)
    members = {plain: frozenset({"requester"}), colleague: frozenset({"agent"})}
    with pytest.raises(ValidationFailed) as refused:
        decide(stream.state, AssignTicket(actor=agent, assignee_id=plain), start, members)
    assert refused.value.field == "assignee_id"
    assert decide(stream.state, AssignTicket(actor=agent, assignee_id=colleague), start, members)
    assert decide(stream.state, AssignTicket(actor=agent, assignee_id=agent.user_id), start, {})


def test_opening_for_a_requester_who_is_not_a_member_is_refused(agent, start):
    with pytest.raises(ValidationFailed) as refused:
        decide(
            None,
            OpenTicket(
                actor=agent,
                ticket_id=str(uuid.uuid4()),
                type="incident",
                title="t",
                requester_id=str(uuid.uuid4()),
            ),
            start,
            {},
        )
    assert refused.value.field == "requester_id"


def test_a_hundred_watchers_at_once_are_one_event(open_ticket, requester, agent):
    stream = open_ticket(requester)
    watchers = frozenset(ids(100))
    [event] = stream.when(ChangeWatchers(actor=agent, add=watchers))
    assert (event.type, len(event.data["added"])) == ("watchers_changed", 100)
    assert stream.state.watchers == watchers
    [event] = stream.when(ChangeWatchers(actor=agent, add=frozenset(ids(1)), remove=watchers))
    assert len(stream.state.watchers) == 1 and len(event.data["removed"]) == 100


def test_a_hundred_and_first_watcher_is_refused(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(ChangeWatchers(actor=agent, add=frozenset(ids(100))))
    with pytest.raises(ValidationFailed) as refused:
        stream.when(AddWatcher(actor=agent, user_id=ids(1)[0]))
    assert refused.value.field == "watchers"


def test_more_than_twenty_tags_are_refused(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(TagTicket(actor=agent, add=frozenset(f"t{i}" for i in range(20))))
    with pytest.raises(ValidationFailed) as refused:
        stream.when(TagTicket(actor=agent, add=frozenset({"one-more"})))
    assert refused.value.field == "tags"


def test_more_than_a_hundred_links_are_refused(open_ticket, requester, agent):
    stream = open_ticket(requester)
    for other in ids(100):
        stream.when(LinkTicket(actor=agent, kind="relates_to", other_id=other))
    with pytest.raises(ValidationFailed) as refused:
        stream.when(LinkTicket(actor=agent, kind="relates_to", other_id=ids(1)[0]))
    assert refused.value.field == "links"


def test_a_new_title_is_sealed_under_the_requesters_key(open_ticket, requester, agent):
    stream = open_ticket(requester)
    [event] = stream.when(UpdateTicket(actor=agent, title="Jane Roe's printer"))
    assert "title" not in event.data and event.data["fields"] == ["title"]
    assert event.pii["title"] == {"subject_id": requester.user_id, "value": "Jane Roe's printer"}
    assert stream.state.title == "Jane Roe's printer"


def test_a_privacy_officer_rectifies_a_title(open_ticket, requester, actor_with):
    stream = open_ticket(requester)
    [event] = stream.when(
        RectifyPersonalText(actor=actor_with("privacy_officer"), field="title", value="Printer")
    )
    assert event.pii["title"]["value"] == "Printer" and stream.state.title == "Printer"


def test_a_stream_written_before_titles_were_sealed_still_folds(requester, start):
    ticket_id, watcher = ids(2)
    opened = RecordedEvent(
        "ticket_opened",
        {
            "ticket_id": ticket_id,
            "type": "incident",
            "title": "Old title",
            "urgency": "low",
            "impact": "low",
            "priority": "low",
            "requester_id": requester.user_id,
        },
        {},
        1,
        start,
        requester.user_id,
    )
    added = RecordedEvent("watcher_added", {"user_id": watcher}, {}, 2, start, requester.user_id)
    state = replay([opened, added])
    assert (state.title, state.watchers) == ("Old title", frozenset({watcher}))
    assert (
        evolve(
            state,
            RecordedEvent(
                "watchers_changed",
                {"added": [], "removed": [watcher]},
                {},
                3,
                start,
                requester.user_id,
            ),
        ).watchers
        == frozenset()
    )


def test_replaying_a_stream_gives_the_state_that_folding_each_event_gives(
    open_ticket, requester, agent
):
    from services.ticketing.domain import AddComment, EditComment

    stream = open_ticket(requester)
    comment_ids = ids(5)
    for comment_id in comment_ids:
        stream.when(AddComment(actor=agent, comment_id=comment_id, body=f"note {comment_id}"))
    stream.when(EditComment(actor=agent, comment_id=comment_ids[2], body="edited"))
    stream.when(ChangeWatchers(actor=agent, add=frozenset(ids(3))))
    folded = None
    for event in stream.events:
        folded = evolve(folded, event)
    assert replay(stream.events) == folded == stream.state
    assert [c.body for c in folded.comments][2] == "edited"
