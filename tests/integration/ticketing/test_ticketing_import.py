"""The bulk import (POST /v1/tickets/import): per-line results, idempotent by external id, the
tickets' own times kept in the ticket and its events, admin only, per tenant, and its events
sealed and erased like any other."""

import json
import threading
import uuid

import psycopg
import requests

from tests.support.amqp import service_rpc

NDJSON = "application/x-ndjson"
SECRET = "my home address is 12 Elm Street"


def raw(urls, query, params=()):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query, params).fetchall()


def members(urls, tenant_id, *people):
    """Members as identity's events would leave them in ticketing's projection."""
    with psycopg.connect(urls["admin"]) as conn:
        conn.cursor().executemany(
            "INSERT INTO members (tenant_id, user_id, roles, version) VALUES (%s, %s, %s, 1)",
            [(tenant_id, who["user_id"], list(who["roles"])) for who in people],
        )


def send(api, who, lines, content_type=NDJSON):
    body = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    return requests.post(
        api.base + "/v1/tickets/import",
        data=body.encode(),
        headers=api.headers(who, **{"Content-Type": content_type}),
        timeout=30,
    )


def results(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(NDJSON)
    return [json.loads(line) for line in response.text.splitlines()]


def historic(requester, external_id, **fields):
    return {
        "external_id": external_id,
        "type": "incident",
        "title": "Printer on floor 3 jams",
        "description": "It jams on every duplex job.",
        "requester_id": requester["user_id"],
        "opened_at": "2024-03-04T09:00:00+00:00",
        **fields,
    }


def test_each_line_is_created_exists_or_an_error_and_a_bad_line_stops_no_other(ticketing):
    api, _, urls, _ = ticketing
    admin, requester = api.user("admin"), api.user("requester")
    members(urls, api.tenant_id, admin, requester)
    stranger = api.user("requester")  # no member of the tenant
    lines = [
        historic(requester, "OLD-1"),
        "{not json",
        historic(requester, "OLD-2", status="closed", closed_at="2024-03-05T10:00:00+00:00"),
        historic(stranger, "OLD-3"),
        historic(requester, "OLD-4", status="resolved"),  # no resolved_at
        historic(requester, "OLD-1"),  # twice in one request
        {"type": "incident"},
    ]
    first = results(send(api, admin, lines))

    assert [(r["line"], r["external_id"], r["status"]) for r in first] == [
        (1, "OLD-1", "created"),
        (2, None, "error"),
        (3, "OLD-2", "created"),
        (4, "OLD-3", "error"),
        (5, "OLD-4", "error"),
        (6, "OLD-1", "exists"),
        (7, None, "error"),
    ]
    assert first[5]["ticket_id"] == first[0]["ticket_id"]
    assert first[1]["problem"]["status"] == 400
    assert first[3]["problem"]["status"] == 422 and "requester_id" in first[3]["problem"]["errors"]
    assert "resolved_at" in first[4]["problem"]["errors"]
    assert "external_id" in first[6]["problem"]["errors"]
    # nothing of the refused lines was written, each created one is whole
    assert raw(urls, "SELECT count(*) FROM tickets") == [(2,)]
    assert raw(urls, "SELECT count(DISTINCT stream_id) FROM events") == [(2,)]

    again = results(send(api, admin, [historic(requester, "OLD-2"), historic(requester, "OLD-1")]))
    assert [(r["status"], r["ticket_id"]) for r in again] == [
        ("exists", first[2]["ticket_id"]),
        ("exists", first[0]["ticket_id"]),
    ]
    assert raw(urls, "SELECT count(DISTINCT stream_id) FROM events") == [(2,)]
    assert raw(urls, "SELECT count(*) FROM ticket_imports") == [(2,)]
    assert raw(urls, "SELECT count(*) FROM tickets") == [(2,)]


def test_the_tickets_own_times_are_kept_in_the_ticket_its_comments_and_its_history(ticketing):
    api, _, urls, _ = ticketing
    admin, requester, agent = api.user("admin"), api.user("requester"), api.user("agent")
    members(urls, api.tenant_id, admin, requester, agent)
    line = historic(
        requester,
        "INC-77",
        status="closed",
        priority="high",
        category="hardware",
        resolved_at="2024-03-05T16:30:00+00:00",
        closed_at="2024-03-08T09:00:00+00:00",
        comments=[
            {
                "author_id": agent["user_id"],
                "body": "Replaced the fuser.",
                "created_at": "2024-03-05T16:00:00+00:00",
            },
            {
                "author_id": requester["user_id"],
                "body": "Thanks, works again.",
                "created_at": "2024-03-04T11:00:00+02:00",  # earlier, in another zone
            },
            {
                "author_id": agent["user_id"],
                "body": "Parts ordered.",
                "internal": True,
                "created_at": "2024-03-04T10:00:00+00:00",
            },
        ],
    )
    (result,) = results(send(api, admin, [line]))
    assert result["status"] == "created", result
    ticket_id = result["ticket_id"]

    shown = api.call("GET", f"/v1/tickets/{ticket_id}", agent).json()
    assert shown["status"] == "closed" and shown["priority"] == "high"
    assert shown["requester_id"] == requester["user_id"]
    assert shown["opened_at"].startswith("2024-03-04T09:00:00")
    assert shown["resolved_at"].startswith("2024-03-05T16:30:00")
    assert shown["closed_at"].startswith("2024-03-08T09:00:00")
    assert [c["body"] for c in shown["comments"]] == [
        "Thanks, works again.",
        "Parts ordered.",
        "Replaced the fuser.",
    ]
    assert shown["comments"][2]["created_at"].startswith("2024-03-05T16:00:00")
    # the first public staff answer is the agent's comment, not the import's own moves
    assert shown["sla"]["first_response"]["met_at"].startswith("2024-03-05T16:00:00")
    history = api.call("GET", f"/v1/tickets/{ticket_id}/history", agent).json()["items"]
    stored = raw(
        urls,
        "SELECT envelope->>'event_type', envelope->>'occurred_at' FROM events"
        " WHERE stream_id = %s ORDER BY stream_version",
        (f"ticket-{ticket_id}",),
    )
    assert [(kind.removeprefix("ticketing."), at[:19]) for kind, at in stored] == [
        ("ticket_opened", "2024-03-04T09:00:00"),
        ("comment_added", "2024-03-04T09:00:00"),  # 11:00 at +02:00
        ("comment_added", "2024-03-04T10:00:00"),
        ("comment_added", "2024-03-05T16:00:00"),
        ("status_changed", "2024-03-05T16:30:00"),
        ("status_changed", "2024-03-08T09:00:00"),
    ]
    assert len(history) == len(stored)
    assert history[0]["occurred_at"].startswith("2024-03-04T09:00:00")
    # the comment's author is its actor; the ticket was opened by the admin who imported it
    actors = raw(
        urls,
        "SELECT envelope->'actor'->>'user_id' FROM events WHERE stream_id = %s"
        " ORDER BY stream_version",
        (f"ticket-{ticket_id}",),
    )
    assert [a for (a,) in actors] == [
        admin["user_id"],
        requester["user_id"],
        agent["user_id"],
        agent["user_id"],
        admin["user_id"],
        admin["user_id"],
    ]
    # a report over the historic window counts the imported ticket at its own times
    mttr = api.call("GET", "/v1/reports/mttr?from=2024-03-01&to=2024-03-10", agent).json()
    assert mttr["total"]["resolved"] == 1
    assert mttr["total"]["mean_seconds"] == (31 * 3600 + 30 * 60)  # 03-04 09:00 to 03-05 16:30
    # a requester sees their imported ticket without the internal comment
    own = api.call("GET", f"/v1/tickets/{ticket_id}", requester).json()
    assert [c["body"] for c in own["comments"]] == ["Thanks, works again.", "Replaced the fuser."]


def test_only_an_admin_imports_and_only_ndjson(ticketing):
    api, _, urls, _ = ticketing
    agent, requester = api.user("agent"), api.user("requester")
    members(urls, api.tenant_id, agent, requester)
    assert send(api, agent, [historic(requester, "X-1")]).status_code == 403
    assert send(api, requester, [historic(requester, "X-1")]).status_code == 403
    refused = send(api, api.user("admin"), [historic(requester, "X-1")], "application/json")
    assert refused.status_code == 415
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert raw(urls, "SELECT count(*) FROM events") == [(0,)]


def test_imports_stay_in_their_tenant(ticketing):
    api, _, urls, _ = ticketing
    other = api.other_tenant()
    ours = (api.user("admin"), api.user("requester"))
    theirs = (other.user("admin"), other.user("requester"))
    members(urls, api.tenant_id, *ours)
    members(urls, other.tenant_id, *theirs)
    (mine,) = results(send(api, ours[0], [historic(ours[1], "SAME-1")]))
    # the same external id in another tenant is another ticket, and ours is not theirs
    (their,) = results(send(other, theirs[0], [historic(theirs[1], "SAME-1")]))
    assert mine["status"] == their["status"] == "created"
    assert mine["ticket_id"] != their["ticket_id"]
    assert other.call("GET", f"/v1/tickets/{mine['ticket_id']}", theirs[0]).status_code == 404
    assert api.call("GET", f"/v1/tickets/{their['ticket_id']}", ours[0]).status_code == 404
    # a requester of another tenant is no member here
    (refused,) = results(send(api, ours[0], [historic(theirs[1], "SAME-2")]))
    assert refused["status"] == "error" and refused["problem"]["status"] == 422
    assert raw(
        urls, "SELECT tenant_id::text, external_id FROM ticket_imports ORDER BY 1"
    ) == sorted([(api.tenant_id, "SAME-1"), (other.tenant_id, "SAME-1")])


def test_an_imported_description_is_sealed_and_erased_with_its_requester(ticketing):
    api, cfg, urls, _ = ticketing
    admin, requester, agent = api.user("admin"), api.user("requester"), api.user("agent")
    members(urls, api.tenant_id, admin, requester, agent)
    line = historic(
        requester,
        "PII-1",
        description=SECRET,
        comments=[
            {
                "author_id": requester["user_id"],
                "body": "call me on 0612345678",
                "created_at": "2024-03-04T09:30:00+00:00",
            }
        ],
    )
    (result,) = results(send(api, admin, [line]))
    stored = " ".join(row[0] for row in raw(urls, "SELECT envelope::text FROM events"))
    assert "Elm Street" not in stored and "0612345678" not in stored and '"pii"' in stored

    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as ticketing_rpc:
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        receipt = ticketing_rpc.purge_subject(api.tenant_id, requester["user_id"], "req-1")
    assert receipt["purged"]["tickets_reprojected"] == 1
    shown = api.call("GET", f"/v1/tickets/{result['ticket_id']}", agent).json()
    assert shown["description"] == "[erased]" and shown["title"] == "[erased]"
    assert [c["body"] for c in shown["comments"]] == ["[erased]"]
    rows = str(
        raw(
            urls,
            "SELECT t.description, c.body FROM tickets t JOIN ticket_comments c USING (ticket_id)",
        )
    )
    assert "Elm Street" not in rows and "0612345678" not in rows


def test_a_line_over_the_limits_of_a_line_is_refused_alone(ticketing):
    api, _, urls, _ = ticketing
    admin, requester = api.user("admin"), api.user("requester")
    members(urls, api.tenant_id, admin, requester)
    huge = json.dumps(historic(requester, "BIG-1", description="x" * (1024 * 1024)))
    later = historic(
        requester, "LATE-1", opened_at="2024-03-04T09:00:00+00:00", status="in_progress"
    )
    future = historic(requester, "FUTURE-1", opened_at="2999-01-01T00:00:00+00:00")
    naive = {**historic(requester, "NAIVE-1"), "opened_at": "2024-03-04T09:00:00"}
    clash = historic(requester, "CLASH-1", priority="low", critical=True)
    outcome = results(send(api, admin, [huge, later, future, naive, str(uuid.uuid4()), clash]))
    assert [r["status"] for r in outcome] == [
        "error",
        "created",
        "error",
        "error",
        "error",
        "error",
    ]
    assert "priority" in outcome[5]["problem"]["errors"]
    assert outcome[0]["problem"]["status"] == 413
    assert outcome[2]["problem"]["status"] == 422
    assert "opened_at" in outcome[3]["problem"]["errors"]
    assert raw(urls, "SELECT status FROM tickets") == [("in_progress",)]

    def chunked():  # no Content-Length; the last line without its newline
        yield (json.dumps(historic(requester, "CHUNK-1")) + "\n").encode()
        yield json.dumps(historic(requester, "CHUNK-2")).encode()

    streamed = requests.post(
        api.base + "/v1/tickets/import",
        data=chunked(),
        headers=api.headers(admin, **{"Content-Type": NDJSON}),
        timeout=30,
    )
    assert [(r["external_id"], r["status"]) for r in results(streamed)] == [
        ("CHUNK-1", "created"),
        ("CHUNK-2", "created"),
    ]


def test_two_imports_of_the_same_lines_at_once_create_each_ticket_once(ticketing):
    api, _, urls, _ = ticketing
    admin, requester = api.user("admin"), api.user("requester")
    members(urls, api.tenant_id, admin, requester)
    closed = {"status": "closed", "closed_at": "2024-03-05T10:00:00+00:00"}  # no SLA timer work
    lines = [historic(requester, f"RACE-{i}", **closed) for i in range(150)]
    answers = []

    def run():
        answers.append(results(send(api, admin, lines)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2
    for first, second in zip(*answers):
        assert {first["status"], second["status"]} <= {"created", "exists"}
        assert first["ticket_id"] == second["ticket_id"]
    assert raw(urls, "SELECT count(*), count(DISTINCT external_id) FROM ticket_imports") == [
        (150, 150)
    ]
    assert raw(urls, "SELECT count(*) FROM tickets") == [(150,)]
    assert raw(
        urls, "SELECT count(*) FROM events WHERE event_type = 'ticketing.ticket_opened'"
    ) == [(150,)]
