"""The event feed: the tenant's events in order with the webhook payloads, signed cursors,
long polls and NDJSON streams."""

import json
import time
import uuid

import eventlet

from tests.integration.integrations.conftest import DESCRIPTION, TITLE

TICKETS = "types=ticketing.ticket_opened,ticketing.comment_added"


def pages(rig, tenant, query, limit):
    """Every page of the feed from the start, and the cursor after the last."""
    seen, cursor = [], None
    while True:
        after = f"&after={cursor}" if cursor else ""
        answer = rig.call("GET", f"/v1/events?{query}&limit={limit}{after}", tenant)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.append(body["items"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen, cursor


def test_the_feed_pages_through_the_tenants_events_with_the_webhook_payloads(
    start_integrations,
):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    ticket = str(uuid.uuid4())
    published = [rig.ticket_opened(tenant, ticket)] + [
        rig.comment_added(tenant, ticket) for _ in range(4)
    ]
    rig.visible(tenant, 5)

    everything = rig.call("GET", f"/v1/events?{TICKETS}", tenant).json()
    assert not everything["has_more"]
    assert {e["id"] for e in everything["items"]} == {e.event_id for e in published}
    seen, last = pages(rig, tenant, TICKETS, 2)
    assert [len(page) for page in seen] == [2, 2, 1]
    assert [e for page in seen for e in page] == everything["items"]  # one order, no overlap
    opened = next(e for e in everything["items"] if e["type"] == "ticketing.ticket_opened")
    assert opened["data"]["ticket_id"] == ticket
    assert TITLE not in json.dumps(everything) and DESCRIPTION not in json.dumps(everything)

    # from the last cursor: nothing yet, and the cursor stays where it was
    empty = rig.call("GET", f"/v1/events?{TICKETS}&after={last}", tenant).json()
    assert (empty["items"], empty["has_more"]) == ([], False)
    comments = rig.call("GET", "/v1/events?types=ticketing.comment_added", tenant).json()
    assert len(comments["items"]) == 4
    assert {e["type"] for e in comments["items"]} == {"ticketing.comment_added"}


def test_a_long_poll_answers_when_an_event_comes(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    rig.ticket_opened(tenant)
    rig.visible(tenant, 1)
    cursor = rig.call("GET", f"/v1/events?{TICKETS}", tenant).json()["next_cursor"]

    started = time.monotonic()
    quiet = rig.call("GET", f"/v1/events?{TICKETS}&after={cursor}&wait=0.5", tenant).json()
    assert quiet["items"] == [] and time.monotonic() - started >= 0.5
    assert quiet["next_cursor"] == cursor

    polling = eventlet.spawn(
        rig.call, "GET", f"/v1/events?{TICKETS}&after={cursor}&wait=25", tenant
    )
    later = rig.ticket_opened(tenant)
    answer = polling.wait()
    assert answer.status_code == 200, answer.text
    assert [e["id"] for e in answer.json()["items"]] == [later.event_id]  # not the time-out


def test_the_feed_streams_as_ndjson_and_resumes_from_any_line(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    ticket = str(uuid.uuid4())
    rig.ticket_opened(tenant, ticket)
    for _ in range(3):
        rig.comment_added(tenant, ticket)
    rig.visible(tenant, 4)

    ndjson = {"Accept": "application/x-ndjson"}
    answer = rig.call("GET", f"/v1/events?{TICKETS}", tenant, headers=ndjson)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert len(lines) == 4 and all(set(line) == {"cursor", "event"} for line in lines)
    listed = rig.call("GET", f"/v1/events?{TICKETS}", tenant).json()["items"]
    assert [line["event"] for line in lines] == listed

    resumed = rig.call(
        "GET", f"/v1/events?{TICKETS}&after={lines[1]['cursor']}", tenant, headers=ndjson
    )
    assert [json.loads(line)["event"] for line in resumed.text.splitlines()] == listed[2:]


def test_a_cursor_is_the_tenants_own_and_bad_queries_are_problems(start_integrations):
    rig = start_integrations()
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    rig.ticket_opened(tenant)
    rig.visible(tenant, 1)
    cursor = rig.call("GET", "/v1/events", tenant).json()["next_cursor"]

    for query in (
        f"after={cursor}",  # another tenant's cursor
        "after=eyJ4Ijox.forged",
        "wait=31",
        "wait=soon",
        "limit=0",
        "limit=501",
    ):
        answer = rig.call("GET", f"/v1/events?{query}", other)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert rig.call("GET", "/v1/events", other).json()["items"] == []
    assert rig.call("GET", "/v1/events", tenant, roles=("requester",)).status_code == 403
    assert rig.call("GET", "/v1/events", tenant, roles=("agent",)).status_code == 200


def test_waiting_consumers_hold_no_worker_of_the_service(start_integrations):
    # two workers, four waiting consumers: the event they wait for is handled all the same
    rig = start_integrations(max_workers=2)
    tenant = str(uuid.uuid4())
    polls = [
        eventlet.spawn(rig.call, "GET", f"/v1/events?{TICKETS}&wait=25", tenant) for _ in range(4)
    ]
    opened = rig.ticket_opened(tenant)
    for poll in polls:
        answer = poll.wait()
        assert answer.status_code == 200, answer.text
        assert [e["id"] for e in answer.json()["items"]] == [opened.event_id]
