"""Titles sealed like descriptions; people named on a ticket are members (from identity's events);
lists bounded, one event per watcher change."""

import uuid

import psycopg

from shared.envelope import Envelope, system_actor
from tests.support.amqp import publish, service_rpc
from tests.support.waiting import wait_until

TITLE = "Jane Roe 078-05-1120 cannot print"


def raw(urls, query, params=()):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query, params).fetchall()


def join(ticketing, *roles, event="user_joined", version=None):
    """A member of the api's tenant as identity announces it; returns once ticketing knows it."""
    api, cfg, urls, _ = ticketing
    who = api.user(*roles)
    envelope = Envelope.new(
        f"identity.{event}",
        api.tenant_id,
        f"tenant-{api.tenant_id}",
        {"user_id": who["user_id"], "roles": list(who["roles"]), "provider": "google"},
        actor=system_actor("test"),
    )
    envelope = envelope.with_version(version or 1)
    publish(cfg["AMQP_URI"], [envelope.to_dict()])
    wait_until(
        lambda: (
            raw(urls, "SELECT roles FROM members WHERE user_id = %s", (who["user_id"],))
            == [(sorted(who["roles"]),)]
        ),
        what="the member",
    )
    return who


def test_the_title_is_sealed_in_the_events_and_readable_through_the_api(ticketing, requester):
    api, _, urls, _ = ticketing
    ticket = api.open(requester, title=TITLE)
    assert api.call("GET", f"/v1/tickets/{ticket['id']}", requester).json()["title"] == TITLE
    stored = " ".join(row[0] for row in raw(urls, "SELECT envelope::text FROM events"))
    assert "Jane Roe" not in stored and "078-05-1120" not in stored


def test_after_a_purge_the_title_is_erased_everywhere_in_the_read_model(
    ticketing, requester, agent
):
    api, cfg, urls, _ = ticketing
    ticket = api.open(requester, title=TITLE)
    kept = api.open(agent, title="Printer on floor 3 jams")
    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as rpc:
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        rpc.purge_subject(api.tenant_id, requester["user_id"], str(uuid.uuid4()))
    assert api.call("GET", f"/v1/tickets/{ticket['id']}", agent).json()["title"] == "[erased]"
    rows = " ".join(map(str, raw(urls, "SELECT t::text, search::text FROM tickets t"))).lower()
    assert "jane" not in rows and "078-05-1120" not in rows and "printer" in rows
    found = api.call("GET", "/v1/tickets?q=printer", agent).json()["items"]
    assert [item["id"] for item in found] == [kept["id"]]
    assert api.call("GET", "/v1/tickets?q=jane", agent).json()["items"] == []


def test_a_title_search_finds_a_ticket_before_its_requester_is_erased(ticketing, requester, agent):
    api = ticketing[0]
    ticket = api.open(requester, title=TITLE)
    found = api.call("GET", "/v1/tickets?q=jane", agent).json()["items"]
    assert [item["id"] for item in found] == [ticket["id"]]


def test_an_email_in_a_person_field_is_422_naming_it(ticketing, requester, agent):
    api = ticketing[0]
    ticket = api.open(requester)
    for field, value in (
        ("assignee_id", "jane.roe@example.test"),
        ("group_id", "Network team"),
        ("watchers", ["jane.roe@example.test"]),
    ):
        response = api.call(
            "PATCH", f"/v1/tickets/{ticket['id']}", agent, {field: value}, **{"If-Match": '"1"'}
        )
        assert response.status_code == 422, response.text
        assert field in response.json()["errors"]
    opened = api.call(
        "POST",
        "/v1/tickets",
        agent,
        {"type": "incident", "title": "x", "requester_id": "jane.roe@example.test"},
    )
    assert opened.status_code == 422 and "requester_id" in opened.json()["errors"]


def test_people_who_are_not_members_are_refused_and_members_accepted(ticketing, requester, agent):
    api = ticketing[0]
    ticket = api.open(requester)
    path = f"/v1/tickets/{ticket['id']}"
    stranger = str(uuid.uuid4())
    refused = api.call("PATCH", path, agent, {"watchers": [stranger]}, **{"If-Match": '"1"'})
    assert refused.status_code == 422 and "watchers" in refused.json()["errors"]
    colleague = join(ticketing, "requester")
    accepted = api.call(
        "PATCH", path, agent, {"watchers": [colleague["user_id"]]}, **{"If-Match": '"1"'}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["watchers"] == [colleague["user_id"]]


def test_an_assignee_must_be_staff(ticketing, requester, agent):
    api = ticketing[0]
    ticket = api.open(requester)
    path = f"/v1/tickets/{ticket['id']}"
    plain, other_agent = join(ticketing, "requester"), join(ticketing, "agent")
    refused = api.call(
        "PATCH", path, agent, {"assignee_id": plain["user_id"]}, **{"If-Match": '"1"'}
    )
    assert refused.status_code == 422 and "assignee_id" in refused.json()["errors"]
    assigned = api.call(
        "PATCH", path, agent, {"assignee_id": other_agent["user_id"]}, **{"If-Match": '"1"'}
    )
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == other_agent["user_id"]


def test_an_erased_member_can_no_longer_be_named(ticketing, requester, agent):
    api, cfg, urls, _ = ticketing
    colleague = join(ticketing, "requester")
    envelope = Envelope.new(
        "identity.member_erased",
        api.tenant_id,
        f"tenant-{api.tenant_id}",
        {"user_id": colleague["user_id"], "request_id": str(uuid.uuid4())},
        actor=system_actor("test"),
    ).with_version(2)
    publish(cfg["AMQP_URI"], [envelope.to_dict()])
    wait_until(
        lambda: (
            raw(urls, "SELECT roles FROM members WHERE user_id = %s", (colleague["user_id"],))
            == [([],)]
        ),
        what="the erasure",
    )
    ticket = api.open(requester)
    refused = api.call(
        "PATCH",
        f"/v1/tickets/{ticket['id']}",
        agent,
        {"watchers": [colleague["user_id"]]},
        **{"If-Match": '"1"'},
    )
    assert refused.status_code == 422


def test_a_patch_of_a_hundred_watchers_appends_one_event_and_more_are_refused(
    ticketing, requester, agent
):
    api, _, urls, _ = ticketing
    ticket = api.open(requester)
    path = f"/v1/tickets/{ticket['id']}"
    watchers = [str(uuid.uuid4()) for _ in range(101)]
    with psycopg.connect(urls["admin"]) as conn:  # members as identity's events would leave them
        conn.cursor().executemany(
            "INSERT INTO members (tenant_id, user_id, roles, version)"
            " VALUES (%s, %s, '{requester}', 1)",
            [(api.tenant_id, w) for w in watchers],
        )
    done = api.call("PATCH", path, agent, {"watchers": watchers[:100]}, **{"If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"2"' and len(done.json()["watchers"]) == 100
    too_many = api.call("PATCH", path, agent, {"watchers": watchers}, **{"If-Match": '"2"'})
    assert too_many.status_code == 422 and "watchers" in too_many.json()["errors"]
    tags = api.call(
        "PATCH", path, agent, {"tags": [f"t{i}" for i in range(21)]}, **{"If-Match": '"2"'}
    )
    assert tags.status_code == 422 and "tags" in tags.json()["errors"]
    assert raw(
        urls, "SELECT count(*) FROM events WHERE event_type = 'ticketing.watchers_changed'"
    ) == [(1,)]
