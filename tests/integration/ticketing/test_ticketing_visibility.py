"""Who sees what: requesters their own tickets, internal comments staff only, other tenants
nothing."""

import psycopg


def test_a_requester_gets_404_for_someone_elses_ticket(api, requester):
    ticket = api.open(requester)
    response = api.call("GET", f"/v1/tickets/{ticket['id']}", api.user("requester"))
    assert response.status_code == 404


def test_an_agent_of_another_tenant_gets_404_never_403(api, requester):
    ticket = api.open(requester)
    stranger_api = api.other_tenant()
    stranger = stranger_api.user("agent")
    seen = stranger_api.call("GET", f"/v1/tickets/{ticket['id']}", stranger)
    moved = stranger_api.call(
        "POST", f"/v1/tickets/{ticket['id']}/transitions", stranger, {"to": "in_progress"}
    )
    assert (seen.status_code, moved.status_code) == (404, 404)


def test_internal_comments_are_hidden_from_the_requester_everywhere(api, requester, agent):
    ticket = api.open(requester)
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "Public note"})
    api.call(
        "POST",
        f"/v1/tickets/{ticket['id']}/comments",
        agent,
        {"body": "Internal note", "public": False},
    )
    as_requester = api.call("GET", f"/v1/tickets/{ticket['id']}", requester).json()
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", requester).text
    as_agent = api.call("GET", f"/v1/tickets/{ticket['id']}", agent).json()
    assert [c["body"] for c in as_requester["comments"]] == ["Public note"]
    assert "Internal note" not in history
    assert [c["body"] for c in as_agent["comments"]] == ["Public note", "Internal note"]


def test_a_requester_cannot_write_an_internal_comment(api, requester):
    ticket = api.open(requester)
    response = api.call(
        "POST", f"/v1/tickets/{ticket['id']}/comments", requester, {"body": "psst", "public": False}
    )
    assert response.status_code == 403


def test_a_requester_lists_only_their_own_tickets_and_an_agent_all(api, requester, agent):
    mine, theirs = api.open(requester), api.open(api.user("requester"))
    listed = api.call("GET", "/v1/tickets", requester).json()["items"]
    everything = api.call("GET", "/v1/tickets", agent).json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    assert {t["id"] for t in everything} == {mine["id"], theirs["id"]}


def test_the_list_filters_by_status_priority_and_text(api, requester, agent):
    printer = api.open(requester, title="Printer jams", urgency="high", impact="high")
    api.open(requester, title="Password reset")
    api.call("POST", f"/v1/tickets/{printer['id']}/transitions", agent, {"to": "in_progress"})
    for query in ("status=in_progress", "priority=high", "q=printer", "q=jams%20printer"):
        items = api.call("GET", f"/v1/tickets?{query}", agent).json()["items"]
        assert [t["id"] for t in items] == [printer["id"]], query


def test_the_list_pages_with_a_cursor_without_repeats(api, requester, agent):
    opened = {api.open(requester)["id"] for _ in range(5)}
    seen, cursor = [], ""
    while True:
        body = api.call("GET", f"/v1/tickets?limit=2&cursor={cursor}", agent).json()
        seen += [t["id"] for t in body["items"]]
        if not body["next_cursor"]:
            break
        cursor = body["next_cursor"]
    assert sorted(seen) == sorted(opened)


def test_the_read_model_rows_of_one_tenant_are_invisible_to_another(ticketing, requester):
    api, _, urls, _ = ticketing
    api.open(requester)
    counts = {}
    with psycopg.connect(urls["app"]) as conn:
        for tenant in (api.tenant_id, api.other_tenant().tenant_id, ""):
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
            counts[tenant] = [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("tickets", "events")
            ]
            conn.rollback()
    assert list(counts.values()) == [[1, 1], [0, 0], [0, 0]]
