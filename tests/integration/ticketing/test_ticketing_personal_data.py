"""Personal text at rest: sealed in events, erased on purge, exported, and read models rebuilt."""

import psycopg

from tests.support.amqp import service_rpc

SECRET = "my home address is 12 Elm Street"


def raw(urls, query):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query).fetchall()


def test_no_description_or_comment_is_stored_in_clear_in_the_events(ticketing, requester, agent):
    api, _, urls, _ = ticketing
    ticket = api.open(requester, description=SECRET)
    api.call(
        "POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "call me on 0612345678"}
    )
    stored = " ".join(row[0] for row in raw(urls, "SELECT envelope::text FROM events"))
    assert "Elm Street" not in stored and "0612345678" not in stored
    assert '"pii"' in stored


def test_purging_an_erased_subject_shows_erased_text_and_keeps_others(ticketing, requester, agent):
    api, cfg, urls, _ = ticketing
    ticket = api.open(requester, description=SECRET)
    path = f"/v1/tickets/{ticket['id']}"
    api.call("POST", path + "/comments", requester, {"body": "It is urgent for me"})
    api.call("POST", path + "/comments", agent, {"body": "Agent reply"})
    api.call("PATCH", path, agent, {"assignee_id": agent["user_id"]}, **{"If-Match": '"3"'})
    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as ticketing_rpc:
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        receipt = ticketing_rpc.purge_subject(api.tenant_id, requester["user_id"], "req-1")
        shown = api.call("GET", path, agent).json()
        # an erased agent's open assignments are released (a system event, no text)
        released = ticketing_rpc.purge_subject(api.tenant_id, agent["user_id"], "req-2")
    assert receipt["purged"]["tickets_reprojected"] == 1
    assert receipt["purged"]["assignments_released"] == 0
    assert released["purged"]["assignments_released"] == 1
    assert api.call("GET", path, agent).json()["assignee_id"] is None
    assert shown["description"] == "[erased]"
    assert [c["body"] for c in shown["comments"]] == ["[erased]", "Agent reply"]
    rows = " ".join(
        str(r)
        for r in raw(
            urls,
            "SELECT t.description, c.body FROM tickets t"
            " JOIN ticket_comments c USING (tenant_id, ticket_id)",
        )
    )
    assert "Elm Street" not in rows and "urgent for me" not in rows


def test_export_returns_the_subjects_tickets_and_comments_in_clear(ticketing, requester):
    api, cfg, _, _ = ticketing
    ticket = api.open(requester, description=SECRET)
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", requester, {"body": "Any news?"})
    with service_rpc("ticketing", cfg) as ticketing_rpc:
        bundle = ticketing_rpc.export_subject(api.tenant_id, requester["user_id"])
    assert [t["description"] for t in bundle["tickets_requested"]] == [SECRET]
    assert [c["body"] for c in bundle["comments_written"]] == ["Any news?"]


def test_rebuilding_the_read_model_from_events_gives_the_same_rows(ticketing, requester, agent):
    api, cfg, urls, _ = ticketing
    first, second = api.open(requester, description=SECRET), api.open(requester)
    api.call("POST", f"/v1/tickets/{first['id']}/comments", agent, {"body": "Hi", "public": False})
    api.call(
        "PATCH",
        f"/v1/tickets/{first['id']}",
        agent,
        {"tags": ["vpn"], "urgency": "high"},
        **{"If-Match": '"2"'},
    )
    api.call(
        "POST",
        f"/v1/tickets/{first['id']}/links",
        agent,
        {"kind": "parent_of", "ticket_id": second["id"]},
    )
    api.call(
        "POST",
        f"/v1/tickets/{second['id']}/transitions",
        agent,
        {"to": "pending", "reason": "awaiting_third_party"},
    )
    admin = api.user("admin")
    group = api.call("POST", "/v1/groups", admin, {"name": "Service desk"}).json()
    api.call("PATCH", f"/v1/groups/{group['id']}", admin, {"description": "First line"})
    tickets_sql = "SELECT * FROM tickets ORDER BY ticket_id"
    comments_sql = "SELECT * FROM ticket_comments ORDER BY comment_id"
    groups_sql = "SELECT * FROM groups ORDER BY group_id"
    before = raw(urls, tickets_sql), raw(urls, comments_sql), raw(urls, groups_sql)
    with service_rpc("ticketing", cfg) as ticketing_rpc:
        counts = ticketing_rpc.rebuild_read_model(api.tenant_id)
    assert counts == {"tickets": 2, "comments": 1, "groups": 1}
    assert (raw(urls, tickets_sql), raw(urls, comments_sql), raw(urls, groups_sql)) == before
