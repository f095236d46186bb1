"""The ticket lifecycle through the HTTP API: creation, transitions, comments, links, parents."""

import time
import uuid


def test_creating_a_ticket_answers_201_with_location_etag_and_the_ticket(api, requester):
    response = api.call(
        "POST",
        "/v1/tickets",
        requester,
        {"type": "service_request", "title": "New monitor", "urgency": "high", "impact": "low"},
    )
    ticket = response.json()
    assert response.status_code == 201
    assert response.headers["Location"] == f"/v1/tickets/{ticket['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (ticket["status"], ticket["priority"], ticket["requester_id"]) == (
        "new",
        "medium",
        requester["user_id"],
    )


def test_a_transition_the_lifecycle_does_not_allow_is_409_naming_the_allowed_ones(
    api, requester, agent
):
    ticket = api.open(requester)
    response = api.call("POST", f"/v1/tickets/{ticket['id']}/transitions", agent, {"to": "closed"})
    assert response.status_code == 409
    assert response.json()["allowed"] == ["cancelled", "in_progress", "pending", "resolved"]


def test_moving_to_pending_without_a_reason_is_refused(api, requester, agent):
    ticket = api.open(requester)
    response = api.call("POST", f"/v1/tickets/{ticket['id']}/transitions", agent, {"to": "pending"})
    assert response.status_code == 422
    assert "reason" in response.json()["errors"]


def test_a_resolved_ticket_can_be_reopened_by_its_requester(api, requester, agent):
    ticket = api.open(requester)
    path = f"/v1/tickets/{ticket['id']}/transitions"
    api.call("POST", path, agent, {"to": "resolved"})
    reopened = api.call("POST", path, requester, {"to": "in_progress"})
    assert reopened.status_code == 200
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("in_progress", 1)


def test_a_requester_cannot_start_work_on_their_own_ticket(api, requester):
    ticket = api.open(requester)
    response = api.call(
        "POST", f"/v1/tickets/{ticket['id']}/transitions", requester, {"to": "in_progress"}
    )
    assert response.status_code == 403


def test_a_critical_priority_is_set_explicitly_by_an_agent(api, requester, agent):
    ticket = api.open(requester, urgency="low", impact="low")
    response = api.call(
        "PATCH", f"/v1/tickets/{ticket['id']}", agent, {"critical": True}, **{"If-Match": '"1"'}
    )
    assert (ticket["priority"], response.json()["priority"]) == ("low", "critical")


def test_linking_records_the_inverse_link_on_the_other_ticket(api, requester, agent):
    first, second = api.open(requester), api.open(requester)
    response = api.call(
        "POST",
        f"/v1/tickets/{first['id']}/links",
        agent,
        {"kind": "duplicate_of", "ticket_id": second["id"]},
    )
    other = api.call("GET", f"/v1/tickets/{second['id']}", agent).json()
    assert response.status_code == 201
    assert response.json()["links"] == [{"kind": "duplicate_of", "ticket_id": second["id"]}]
    assert other["links"] == [{"kind": "duplicated_by", "ticket_id": first["id"]}]


def test_linking_to_a_ticket_that_does_not_exist_is_refused(api, requester, agent):
    ticket = api.open(requester)
    response = api.call(
        "POST",
        f"/v1/tickets/{ticket['id']}/links",
        agent,
        {"kind": "relates_to", "ticket_id": str(uuid.uuid4())},
    )
    assert response.status_code == 422


def test_closing_a_parent_resolves_its_active_children(api, requester, agent):
    parent, child = api.open(requester), api.open(requester)
    api.call(
        "POST",
        f"/v1/tickets/{parent['id']}/links",
        agent,
        {"kind": "parent_of", "ticket_id": child["id"]},
    )
    for to in ("resolved", "closed"):
        api.call("POST", f"/v1/tickets/{parent['id']}/transitions", agent, {"to": to})
    deadline = time.monotonic() + 10
    while (
        status := api.call("GET", f"/v1/tickets/{child['id']}", agent).json()["status"]
    ) != "resolved":
        assert time.monotonic() < deadline, f"the child is still {status}"
        time.sleep(0.05)


def test_history_lists_every_event_with_the_fields_the_caller_may_read(api, requester, agent):
    ticket = api.open(requester, description="Since Tuesday")
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "Looking"})
    items = api.call("GET", f"/v1/tickets/{ticket['id']}/history", requester).json()["items"]
    assert [item["type"] for item in items] == [
        "ticketing.ticket_opened",
        "ticketing.comment_added",
    ]
    assert [item["fields"] for item in items] == [
        {"title": ticket["title"], "description": "Since Tuesday"},
        {"body": "Looking"},
    ]
    assert "title" not in items[0]["data"]
