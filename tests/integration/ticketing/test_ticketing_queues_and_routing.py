"""Queues (a group's, an agent's own) in SLA order, cursor-paged and filtered; routing rules that
send new and re-categorised tickets to a group and an agent, with the reason in the history;
a confident AI triage suggestion applied when the tenant opts in."""

import pytest

from shared.envelope import Envelope, system_actor
from tests.integration.ticketing.test_ticketing_groups import _to, member, new_group, patch, raw
from tests.support.amqp import publish
from tests.support.waiting import wait_until


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def desk(ticketing, admin, requester):
    """A group of one agent and four of its tickets: high, critical, low (a service request)
    and one pending (no SLA clock running), plus one of no group and one closed."""
    api = ticketing[0]
    agent = member(ticketing, "agent")
    group = new_group(api, admin, "Network team", agent)
    high = api.open(agent, urgency="high", impact="high")
    critical = api.open(agent, critical=True)
    low = api.open(requester, type="service_request", urgency="low", impact="low")
    pending = api.open(requester, urgency="high", impact="high")
    closed = api.open(agent, critical=True)
    api.open(agent, critical=True)  # in no group
    for ticket in (high, critical, low, pending, closed):
        assert patch(api, agent, ticket["id"], {"group_id": group["id"]}).status_code == 200
    moves = [(pending, "pending"), (closed, "resolved"), (closed, "closed")]
    for ticket, to in moves:
        body = {"to": to, "reason": "awaiting_requester" if to == "pending" else None}
        moved = api.call("POST", f"/v1/tickets/{ticket['id']}/transitions", agent, body)
        assert moved.status_code == 200, moved.text
    patch(api, agent, high["id"], _to(agent))
    order = [critical["id"], high["id"], low["id"], pending["id"]]
    return api, agent, group, order


def test_a_groups_queue_is_in_sla_order_then_priority_with_no_deadline_last(desk, admin, ticketing):
    api, agent, group, order = desk
    queue = f"/v1/groups/{group['id']}/queue"
    shown = api.call("GET", queue, agent)
    assert ids(shown) == order
    items = shown.json()["items"]
    assert [item["sla_due"] is None for item in items] == [False, False, False, True]
    assert items[0]["sla_due"] <= items[1]["sla_due"] <= items[2]["sla_due"]
    paged, cursor = [], None
    while True:
        page = api.call("GET", queue + "?limit=1" + (f"&cursor={cursor}" if cursor else ""), admin)
        paged += ids(page)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert paged == order
    filters_and_my_queue(desk, member(ticketing, "agent"))


FILTERS = [
    ("priority=low", [2]),
    ("type=service_request", [2]),
    ("status=pending", [3]),
    ("assigned=true", [1]),
    ("assigned=false", [0, 2, 3]),
    ("type=incident&assigned=false", [0, 3]),
]


def filters_and_my_queue(desk, other_agent):
    """The queue's filters; an agent's own queue; what either refuses."""
    api, agent, group, order = desk
    for query, positions in FILTERS:
        shown = api.call("GET", f"/v1/groups/{group['id']}/queue?{query}", agent)
        assert ids(shown) == [order[i] for i in positions], query
    assert ids(api.call("GET", "/v1/me/queue", agent)) == [order[1]]
    assert ids(api.call("GET", "/v1/me/queue?priority=low", agent)) == []
    assert ids(api.call("GET", "/v1/me/queue", other_agent)) == []
    assert api.call("GET", "/v1/me/queue", api.user("requester")).status_code == 403
    queue = f"/v1/groups/{group['id']}/queue"
    assert api.call("GET", queue + "?status=closed", agent).status_code in (400, 422)
    assert api.call("GET", queue + "?cursor=forged.cursor", agent).status_code == 400
    mine = api.call("GET", queue + "?limit=1", agent).json()["next_cursor"]
    assert api.call("GET", f"/v1/me/queue?cursor={mine}", agent).status_code == 400
    assert api.call("GET", queue, api.user("requester")).status_code == 403


# routing rules


@pytest.fixture
def teams(ticketing, admin):
    api = ticketing[0]
    first, second = sorted((member(ticketing, "agent") for _ in range(2)), key=_id)
    light, heavy = member(ticketing, "agent"), member(ticketing, "agent")
    network = new_group(api, admin, "Network team", first, second)
    major = new_group(api, admin, "Major incidents", light, heavy)
    rules = {
        "rules": [
            {"when": {"category": "network"}, "then": {"group_id": network["id"]}},
            {
                "when": {"type": "incident", "priority": "critical"},
                "then": {"group_id": major["id"], "strategy": "least_loaded"},
            },
        ]
    }
    put = api.call("PUT", "/v1/routing-rules", admin, rules)
    assert put.status_code == 200, put.text
    return api, network, major, (first, second), (light, heavy)


def _id(who):
    return who["user_id"]


def test_admins_set_the_routing_rules_and_staff_read_them(teams, admin, agent):
    api, network, major, _, _ = teams
    shown = api.call("GET", "/v1/routing-rules", agent)
    assert shown.headers["ETag"] == '"1"'
    assert shown.json()["rules"][0] == {
        "when": {"category": "network"},
        "then": {"group_id": network["id"], "strategy": "round_robin"},
    }
    assert api.call("PUT", "/v1/routing-rules", agent, {"rules": []}).status_code == 403
    unknown = {"rules": [{"then": {"group_id": "00000000-0000-4000-8000-000000000000"}}]}
    refused = api.call("PUT", "/v1/routing-rules", admin, unknown)
    assert refused.status_code == 422 and "rules" in refused.json()["errors"]
    bad = {"rules": [{"when": {"priority": "urgent"}, "then": {"group_id": network["id"]}}]}
    assert api.call("PUT", "/v1/routing-rules", admin, bad).status_code in (400, 422)
    stale = api.call("PUT", "/v1/routing-rules", admin, {"rules": []}, **{"If-Match": '"7"'})
    assert stale.status_code == 412
    assert api.call("GET", "/v1/routing-rules", agent).json()["rules"][1]["then"] == {
        "group_id": major["id"],
        "strategy": "least_loaded",
    }
    other = api.other_tenant()  # another tenant's rules and groups route nothing there
    assert other.call("GET", "/v1/routing-rules", other.user("admin")).json() == {"rules": []}
    ticket = other.open(other.user("requester"), category="network")
    assert (ticket["group_id"], ticket["assignee_id"]) == (None, None)


def test_new_and_recategorised_tickets_go_round_robin_to_the_first_matching_group(teams, requester):
    api, network, _, (first, second), _ = teams
    opened = [api.open(requester, category="network") for _ in range(3)]
    assert [(t["group_id"], t["assignee_id"]) for t in opened] == [
        (network["id"], first["user_id"]),
        (network["id"], second["user_id"]),
        (network["id"], first["user_id"]),
    ]
    history = api.call("GET", f"/v1/tickets/{opened[0]['id']}/history", first).json()["items"]
    routed, assigned = history[-2:]
    assert routed["type"] == "ticketing.ticket_routed"
    assert routed["actor"] == {"system": "ticketing"}
    assert routed["data"] == {
        "rule": 0,
        "group_id": network["id"],
        "assignee_id": first["user_id"],
        "strategy": "round_robin",
        "trigger": "opened",
        "reason": "rule_matched",
    }
    assert (assigned["type"], assigned["data"]["reason"]) == ("ticketing.ticket_assigned", "routed")
    unmatched = api.open(requester, category="printers")
    assert (unmatched["group_id"], unmatched["assignee_id"]) == (None, None)
    moved = patch(api, first, unmatched["id"], {"category": "network"})  # routed again
    assert moved.status_code == 200, moved.text
    assert (moved.json()["group_id"], moved.json()["assignee_id"]) == (
        network["id"],
        second["user_id"],
    )
    history = api.call("GET", f"/v1/tickets/{unmatched['id']}/history", first).json()["items"]
    assert [e["data"].get("trigger") for e in history if e["type"].endswith("routed")] == [
        "category_changed"
    ]


def test_least_loaded_routing_picks_the_agent_with_fewer_open_tickets(teams, requester):
    api, _, major, _, (light, heavy) = teams
    busy = api.open(requester)
    patch(api, heavy, busy["id"], {"group_id": major["id"], **_to(heavy)})
    routed = api.open(heavy, critical=True)
    assert (routed["group_id"], routed["assignee_id"]) == (major["id"], light["user_id"])


def test_a_rule_on_custom_fields_routes_the_tickets_whose_values_match(teams, admin, requester):
    api, _, major, _, (light, heavy) = teams
    for spec in (
        {"key": "vip", "type": "bool"},
        {"key": "site", "type": "enum", "options": ["paris", "lyon"]},
    ):
        assert api.call("POST", "/v1/ticket-fields", admin, spec).status_code == 201
    rules = api.call("GET", "/v1/routing-rules", admin).json()
    vip = {"fields": {"vip": True, "site": "paris"}}
    rules["rules"].insert(0, {"when": vip, "then": {"group_id": major["id"]}})
    assert api.call("PUT", "/v1/routing-rules", admin, rules).status_code == 200
    paris = api.open(requester, fields={"vip": True, "site": "paris"})
    lyon = api.open(requester, fields={"vip": True, "site": "lyon"})
    first = min(light["user_id"], heavy["user_id"])  # round robin, from the first member by id
    assert (paris["group_id"], paris["assignee_id"]) == (major["id"], first)
    assert (lyon["group_id"], lyon["assignee_id"]) == (None, None)


def suggested(api, ticket_id, confidence):
    return Envelope.new(
        "ai.triage_suggested",
        api.tenant_id,
        f"triage-{ticket_id}",
        {
            "ticket_id": ticket_id,
            "category": "network",
            "priority": "high",
            "confidence": confidence,
        },
        actor=system_actor("ai"),
    ).with_version(1)


def test_a_confident_ai_triage_is_applied_and_routed_when_the_tenant_opts_in(
    teams, ticketing, admin, requester
):
    api, cfg, urls, _ = ticketing
    _, network, _, (first, _), _ = teams
    rules = api.call("GET", "/v1/routing-rules", admin).json()
    rules["ai_triage"] = {"enabled": True, "min_confidence": 0.7}
    assert api.call("PUT", "/v1/routing-rules", admin, rules).status_code == 200
    doubtful, confident = api.open(requester), api.open(requester)
    low = suggested(api, doubtful["id"], 0.6)
    publish(cfg["AMQP_URI"], [low.to_dict(), suggested(api, confident["id"], 0.9).to_dict()])
    path = f"/v1/tickets/{confident['id']}"
    wait_until(
        lambda: api.call("GET", path, admin).json()["group_id"] == network["id"],
        what="the triaged ticket's routing",
    )
    history = api.call("GET", path + "/history", admin).json()["items"]
    updated, routed = history[-3], history[-2]
    assert (updated["data"]["source"], updated["data"]["confidence"]) == ("ai_triage", 0.9)
    assert (routed["data"]["trigger"], routed["actor"]) == ("ai_triage", {"system": "ticketing"})
    wait_until(
        lambda: raw(urls, "SELECT 1 FROM inbox WHERE event_id = %s", (low.event_id,)),
        what="the doubtful suggestion handled",
    )
    shown = api.call("GET", f"/v1/tickets/{doubtful['id']}", admin).json()
    assert (shown["category"], shown["group_id"]) == (None, None)
    # a person who sets category and group at once keeps their choice: no routing
    major = api.call("GET", "/v1/groups", admin).json()["items"][1]
    chosen = patch(api, first, doubtful["id"], {"category": "network", "group_id": major["id"]})
    assert (chosen.json()["group_id"], chosen.json()["assignee_id"]) == (major["id"], None)
