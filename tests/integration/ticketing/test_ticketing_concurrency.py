"""Optimistic concurrency (If-Match) and idempotent creation (Idempotency-Key)."""

import psycopg

from tests.integration.ticketing.test_ticketing_groups import member, new_group


def test_an_update_without_if_match_is_428(api, requester, agent):
    ticket = api.open(requester)
    response = api.call("PATCH", f"/v1/tickets/{ticket['id']}", agent, {"urgency": "high"})
    assert response.status_code == 428


def test_an_update_with_a_stale_etag_is_412_and_changes_nothing(api, requester, agent):
    ticket = api.open(requester)
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "Hello"})
    stale = api.call(
        "PATCH", f"/v1/tickets/{ticket['id']}", agent, {"urgency": "high"}, **{"If-Match": '"1"'}
    )
    current = api.call("GET", f"/v1/tickets/{ticket['id']}", agent)
    assert stale.status_code == 412
    assert (current.json()["urgency"], current.headers["ETag"]) == ("medium", '"2"')


def test_an_update_with_the_current_etag_applies_and_returns_the_next_one(ticketing, requester):
    api, admin = ticketing[0], ticketing[0].user("admin")
    agent = member(ticketing, "agent")  # a group's members are agents the tenant knows
    ticket, group = api.open(requester), new_group(api, admin, "Service desk", agent)["id"]
    response = api.call(
        "PATCH",
        f"/v1/tickets/{ticket['id']}",
        agent,
        {"assignee_id": agent["user_id"], "group_id": group},
        **{"If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert (response.json()["assignee_id"], response.json()["group_id"]) == (
        agent["user_id"],
        group,
    )


def test_the_same_idempotency_key_and_body_give_the_same_ticket_once(ticketing, requester):
    api, _, urls, _ = ticketing
    body = {"type": "incident", "title": "Mail is down"}
    first = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-123"})
    again = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-123"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    with psycopg.connect(urls["admin"]) as conn:
        opened = conn.execute(
            "SELECT count(*) FROM events WHERE event_type = 'ticketing.ticket_opened'"
        ).fetchone()[0]
    assert opened == 1


def test_the_same_idempotency_key_with_another_body_is_422(api, requester):
    api.call(
        "POST",
        "/v1/tickets",
        requester,
        {"type": "incident", "title": "A"},
        **{"Idempotency-Key": "k-456"},
    )
    other = api.call(
        "POST",
        "/v1/tickets",
        requester,
        {"type": "incident", "title": "B"},
        **{"Idempotency-Key": "k-456"},
    )
    assert other.status_code == 422
