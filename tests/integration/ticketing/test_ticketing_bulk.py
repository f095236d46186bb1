"""POST /v1/tickets/bulk: each item its own command in a savepoint of its own, 207 with each
item's result; a failing item writes nothing and stops no other; other tenants' tickets 404."""

import uuid

import psycopg
import pytest

from tests.integration.ticketing.test_ticketing_people_and_titles import join


def raw(urls, query, params=None):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query, params).fetchall()


def events_of(urls, ticket_id):
    return raw(
        urls,
        "SELECT event_type FROM events WHERE stream_id = %s ORDER BY stream_version",
        (f"ticket-{ticket_id}",),
    )


def test_mixed_items_answer_207_each_with_its_result(ticketing, admin, agent, requester):
    api, _, urls, _ = ticketing
    assert (
        api.call(
            "POST", "/v1/ticket-fields", admin, {"key": "risk", "type": "enum", "options": ["low"]}
        ).status_code
        == 201
    )
    member = join(ticketing, "agent")
    a, b, c, d = (api.open(requester) for _ in range(4))
    other = api.other_tenant()
    theirs = other.open(other.user())
    before = {t["id"]: events_of(urls, t["id"]) for t in (a, b, c, d)}
    items = [
        {"ticket_id": a["id"], "op": "assign", "assignee_id": member["user_id"]},
        {"ticket_id": b["id"], "op": "transition", "to": "closed"},  # not from new: 409
        {"ticket_id": c["id"], "op": "tag", "add": ["printer", "floor-3"]},
        {"ticket_id": d["id"], "op": "set_field", "key": "risk", "value": "extreme"},  # 422
        {"ticket_id": str(uuid.uuid4()), "op": "tag", "add": ["x"]},  # no such ticket
        {"ticket_id": theirs["id"], "op": "tag", "add": ["x"]},  # another tenant's
        {"ticket_id": a["id"], "op": "explode"},  # malformed: 400
        {"ticket_id": d["id"], "op": "set_field", "key": "risk", "value": "low"},
        {"ticket_id": b["id"], "op": "transition", "to": "in_progress"},
        {"ticket_id": c["id"], "op": "tag", "add": ["late"], "version": 1},  # stale: 412
    ]
    response = api.call("POST", "/v1/tickets/bulk", agent, {"items": items})
    assert response.status_code == 207, response.text
    results = response.json()["items"]
    assert [r["status"] for r in results] == [200, 409, 200, 422, 404, 404, 400, 200, 200, 412]
    assert [r["ticket_id"] for r in results] == [item["ticket_id"] for item in items]
    assert "fields.risk" in results[3]["problem"]["errors"]
    assert results[1]["problem"]["status"] == 409 and "problem" not in results[0]

    shown = {t["id"]: api.call("GET", f"/v1/tickets/{t['id']}", agent).json() for t in (a, b, c, d)}
    assert shown[a["id"]]["assignee_id"] == member["user_id"]
    assert shown[b["id"]]["status"] == "in_progress"
    assert sorted(shown[c["id"]]["tags"]) == ["floor-3", "printer"]
    assert shown[d["id"]]["fields"] == {"risk": "low"}
    # each ticket got exactly the events of its successful items, nothing of the failed ones
    assert events_of(urls, b["id"]) == before[b["id"]] + [("ticketing.status_changed",)]
    assert events_of(urls, d["id"]) == before[d["id"]] + [("ticketing.fields_changed",)]
    assert (
        other.call("GET", f"/v1/tickets/{theirs['id']}", other.user("agent")).json()["tags"] == []
    )


def test_more_than_100_items_is_422_and_only_staff_may_send_them(ticketing, agent, requester):
    api = ticketing[0]
    ticket = api.open(requester)
    items = [{"ticket_id": ticket["id"], "op": "tag", "add": ["x"]}] * 101
    too_many = api.call("POST", "/v1/tickets/bulk", agent, {"items": items})
    assert too_many.status_code == 422
    assert too_many.headers["Content-Type"] == "application/problem+json"
    assert api.call("GET", f"/v1/tickets/{ticket['id']}", agent).json()["tags"] == []
    mine = api.call("POST", "/v1/tickets/bulk", requester, {"items": items[:1]})
    assert mine.status_code == 403
    assert api.call("POST", "/v1/tickets/bulk", agent, {"items": []}).status_code == 400


def test_an_item_failing_at_its_append_leaves_nothing_and_the_next_item_runs(make_database):
    """The savepoint of an item whose append fails (here: a second opening of a stream that
    exists) is rolled back; the unit's next item and its commit go through."""
    from psycopg_pool import ConnectionPool

    from services.ticketing.application import PolicyCache, TicketDesk
    from services.ticketing.dependencies import OffsetClock
    from services.ticketing.domain import Actor, OpenTicket, TagTicket
    from shared.crypto import FieldCipher, LocalKeyring
    from shared.db import UnitOfWork
    from shared.eventstore import ConcurrencyError

    urls = make_database("ticketing")
    tenant, one, two = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    actor = Actor(str(uuid.uuid4()), frozenset({"agent"}))

    def opening(ticket_id):
        return [OpenTicket(actor=actor, ticket_id=ticket_id, type="incident", title="x")]

    with ConnectionPool(urls["app"], min_size=1, max_size=1, kwargs={"autocommit": False}) as pool:
        pool.wait()
        unit = UnitOfWork(pool, "ticketing")
        desk = TicketDesk(unit, FieldCipher(LocalKeyring()), OffsetClock(), tenant, PolicyCache())
        desk.run_apart(one, actor, opening(one), new=True)
        desk.run_apart(two, actor, opening(two), new=True)
        with pytest.raises(ConcurrencyError):
            desk.run_apart(one, actor, opening(one), new=True)
        desk.run_apart(two, actor, [TagTicket(actor=actor, add=frozenset({"later"}))])
        unit.finish(commit=True)
    assert [e[0] for e in events_of(urls, one)] == ["ticketing.ticket_opened"]
    assert [e[0] for e in events_of(urls, two)] == [
        "ticketing.ticket_opened",
        "ticketing.tags_changed",
    ]
    assert raw(urls, "SELECT ticket_id::text, tags FROM tickets WHERE ticket_id = %s", (two,)) == [
        (two, ["later"])
    ]
