"""Given events, when a command, then events: opening, editing, assignment, tags, rectification."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.ticketing.domain import (
    Actor,
    AddComment,
    AssignTicket,
    NewEvent,
    NotPermitted,
    OpenTicket,
    RecordedEvent,
    RecordSlaAlert,
    RectifyPersonalText,
    SetPriority,
    TagTicket,
    TicketAlreadyExists,
    TicketClosed,
    TicketNotFound,
    Transition,
    UpdateTicket,
    ValidationFailed,
    decide,
    replay,
)


def test_opening_a_ticket_emits_ticket_opened_with_personal_text_only_in_pii(
    new_stream, new_id, requester
):
    ticket_id, description = new_id(), "My badge no longer opens door B2."
    events = new_stream().when(
        OpenTicket(
            actor=requester,
            ticket_id=ticket_id,
            type="incident",
            title="  Badge   refused ",
            description=description,
            urgency="high",
            impact="low",
            category="Facilities/Access",
        )
    )
    assert events == [
        NewEvent(
            "ticket_opened",
            {
                "ticket_id": ticket_id,
                "type": "incident",
                "category": "facilities/access",
                "urgency": "high",
                "impact": "low",
                "critical": False,
                "priority": "medium",
                "requester_id": requester.user_id,
                "opened_by": requester.user_id,
                "watchers": [],
                "tags": [],
            },
            {
                "title": {"subject_id": requester.user_id, "value": "Badge refused"},
                "description": {"subject_id": requester.user_id, "value": description},
            },
        )
    ]


def test_a_description_typed_by_an_agent_belongs_to_the_requester(new_stream, new_id, agent):
    caller = new_id()
    [event] = new_stream().when(
        OpenTicket(
            actor=agent,
            ticket_id=new_id(),
            type="incident",
            title="Phone call",
            description="Caller's screen is black",
            requester_id=caller,
        )
    )
    assert event.pii["description"]["subject_id"] == caller


def test_a_ticket_without_description_seals_only_its_title(new_stream, new_id, requester):
    [event] = new_stream().when(
        OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="VPN")
    )
    assert event.pii == {"title": {"subject_id": requester.user_id, "value": "VPN"}}
    assert "title" not in event.data


def test_a_blank_title_is_refused(new_stream, new_id, requester):
    with pytest.raises(ValidationFailed) as failed:
        new_stream().when(
            OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="   ")
        )
    assert failed.value.field == "title"


def test_an_unknown_type_is_refused(new_stream, new_id, requester):
    with pytest.raises(ValidationFailed) as failed:
        new_stream().when(
            OpenTicket(actor=requester, ticket_id=new_id(), type="question", title="Hi")
        )
    assert failed.value.field == "type"


def test_opening_an_existing_ticket_is_refused(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    with pytest.raises(TicketAlreadyExists):
        stream.when(OpenTicket(actor=requester, ticket_id=new_id(), type="incident", title="Again"))


def test_a_command_on_an_empty_stream_finds_no_ticket(requester, start):
    with pytest.raises(TicketNotFound):
        decide(None, UpdateTicket(actor=requester, title="x"), start)


def test_a_full_life_keeps_event_data_json_and_free_of_personal_text(
    open_ticket, requester, agent, new_id
):
    secrets = [
        "It jams on every page since Monday.",
        "Call me at +33 6 12 34 56 78",
        "Swapped tray",
    ]
    stream = open_ticket(requester, description=secrets[0])
    stream.when(AddComment(actor=requester, comment_id=new_id(), body=secrets[1]))
    stream.when(Transition(actor=agent, to="resolved", note=secrets[2]))
    stream.when(Transition(actor=requester, to="closed"))
    for event in stream.events:
        payload = json.dumps(event.data)
        assert not any(secret in payload for secret in secrets)


def test_an_update_records_only_the_fields_that_changed(open_ticket, requester, agent):
    stream = open_ticket(requester, title="Printer jams")
    [event] = stream.when(
        UpdateTicket(
            actor=agent,
            title="Printer jams",
            category="hardware",
            description="Jams on duplex only",
        )
    )
    assert event.data == {"fields": ["category", "description"], "category": "hardware"}
    assert event.pii == {
        "description": {"subject_id": requester.user_id, "value": "Jams on duplex only"}
    }
    assert stream.state.description == "Jams on duplex only"


def test_an_update_that_changes_nothing_records_nothing(open_ticket, requester):
    stream = open_ticket(requester, title="Printer jams")
    assert stream.when(UpdateTicket(actor=requester, title="Printer jams")) == []


def test_a_closed_ticket_takes_no_more_comments(open_ticket, requester, new_id):
    stream = open_ticket(requester, "closed")
    with pytest.raises(TicketClosed):
        stream.when(AddComment(actor=requester, comment_id=new_id(), body="Thanks!"))


def test_a_cancelled_ticket_takes_no_priority_change(open_ticket, requester, agent):
    stream = open_ticket(requester, "cancelled")
    with pytest.raises(TicketClosed):
        stream.when(SetPriority(actor=agent, urgency="high"))


def test_assigning_records_agent_and_group_with_their_previous_values(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    group = new_id()
    [event] = stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id, group_id=group))
    assert event.data == {
        "assignee_id": agent.user_id,
        "group_id": group,
        "previous_assignee_id": None,
        "previous_group_id": None,
    }
    assert (stream.state.assignee_id, stream.state.group_id) == (agent.user_id, group)


def test_assigning_to_the_current_assignee_records_nothing(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id))
    assert stream.when(AssignTicket(actor=agent, assignee_id=agent.user_id)) == []


def test_tags_are_normalised_and_only_real_changes_recorded(open_ticket, requester, agent):
    stream = open_ticket(requester)
    stream.when(TagTicket(actor=agent, add=frozenset({"VPN", "network"})))
    [event] = stream.when(
        TagTicket(
            actor=agent, add=frozenset({"vpn", "remote"}), remove=frozenset({"network", "absent"})
        )
    )
    assert event.data == {"added": ["remote"], "removed": ["network"]}
    assert stream.state.tags == {"vpn", "remote"}


def test_a_tag_with_free_text_is_refused(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed):
        stream.when(TagTicket(actor=agent, add=frozenset({"call john smith"})))


def test_rectification_replaces_the_description_even_on_a_closed_ticket(open_ticket, requester):
    stream = open_ticket(requester, "closed")
    [event] = stream.when(
        RectifyPersonalText(
            actor=Actor.system("privacy"), field="description", value="Corrected text"
        )
    )
    assert event.data == {"fields": ["description"], "rectification": True}
    assert event.pii["description"]["subject_id"] == requester.user_id
    assert stream.state.description == "Corrected text"


def test_an_agent_cannot_rectify_personal_text(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(RectifyPersonalText(actor=agent, field="description", value="x"))


def test_an_sla_alert_is_recorded_once(open_ticket, requester, start):
    stream = open_ticket(requester)
    alert = RecordSlaAlert(
        actor=Actor.system(),
        kind="breach",
        target="first_response",
        at=start,
        due_at=start,
        target_minutes=240,
    )
    [event] = stream.when(alert)
    assert (event.type, event.data) == (
        "sla_breached",
        {"target": "first_response", "due_at": start.isoformat(), "target_minutes": 240},
    )
    assert stream.when(alert) == []


def test_an_sla_alert_that_is_not_due_yet_is_refused(open_ticket, requester, start):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed):
        stream.when(
            RecordSlaAlert(
                actor=Actor.system(),
                kind="warning",
                target="resolution",
                at=start + timedelta(hours=1),
                due_at=start + timedelta(hours=2),
                target_minutes=1440,
            )
        )


def test_only_the_system_records_sla_alerts(open_ticket, requester, agent, start):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(
            RecordSlaAlert(
                actor=agent,
                kind="warning",
                target="resolution",
                at=start,
                due_at=start,
                target_minutes=1440,
            )
        )


def test_given_stored_events_a_requester_reply_resumes_the_ticket(requester, agent, new_id, start):
    ticket_id, comment_id = new_id(), new_id()
    given = [
        RecordedEvent(
            "ticket_opened",
            {
                "ticket_id": ticket_id,
                "type": "incident",
                "title": "VPN drops",
                "category": None,
                "urgency": "medium",
                "impact": "medium",
                "critical": False,
                "priority": "medium",
                "requester_id": requester.user_id,
                "opened_by": requester.user_id,
                "watchers": [],
                "tags": [],
            },
            {"description": "Drops every hour"},
            1,
            start,
            requester.user_id,
        ),
        RecordedEvent(
            "status_changed",
            {
                "from_status": "new",
                "to_status": "pending",
                "reason": "awaiting_requester",
                "first_response": True,
            },
            {},
            2,
            start + timedelta(minutes=5),
            agent.user_id,
        ),
    ]
    events = decide(
        replay(given),
        AddComment(actor=requester, comment_id=comment_id, body="Log attached"),
        start + timedelta(hours=1),
    )
    assert events == [
        NewEvent(
            "comment_added",
            {"comment_id": comment_id, "internal": False, "first_response": False},
            {"body": {"subject_id": requester.user_id, "value": "Log attached"}},
        ),
        NewEvent(
            "status_changed",
            {
                "from_status": "pending",
                "to_status": "in_progress",
                "reason": "requester_replied",
                "first_response": False,
            },
            {},
        ),
    ]
