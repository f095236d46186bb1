"""Desk reports through the API, on a fixed day played on a clock the test holds: every number
below is worked out by hand from the timeline in `desk_day`'s docstring."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from nameko.testing.services import entrypoint_hook

from services.ticketing.settings import INJECTED_CLOCK_KEY
from tests.support.amqp import service_rpc

ALWAYS = {day: [["00:00", "00:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# minutes: first response, resolution
TARGETS = {"low": (120, 480), "medium": (60, 240), "high": (30, 120), "critical": (15, 60)}
POLICY = {
    "timezone": "UTC",
    "hours": ALWAYS,
    "targets": {
        priority: {"first_response_minutes": first, "resolution_minutes": resolution}
        for priority, (first, resolution) in TARGETS.items()
    },
}
DAY = "from=2025-03-10T00:00:00Z&to=2025-03-11"
G1, G2 = str(uuid.uuid4()), str(uuid.uuid4())


class HandClock:
    def __init__(self):
        self.at = datetime(2025, 3, 9, 23, 0, tzinfo=UTC)

    def now(self):
        return self.at

    def set(self, day, hh, mm=0):
        self.at = datetime(2025, 3, day, hh, mm, tzinfo=UTC)


class Desk:
    """One tenant's desk on the test's clock: an agent, a requester, and short verbs."""

    def __init__(self, api, clock):
        self.api, self.clock = api, clock
        self.agent, self.requester = api.user("agent"), api.user("requester")
        self.tickets = {}

    def at(self, day, hh, mm=0):
        self.clock.set(day, hh, mm)
        return self

    def open(self, name, **fields):
        self.tickets[name] = self.api.open(self.requester, **fields)["id"]

    def call(self, method, name, suffix, body, who=None, **headers):
        response = self.api.call(
            method, f"/v1/tickets/{self.tickets[name]}{suffix}", who or self.agent, body, **headers
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def comment(self, name, public=True, who=None):
        self.call("POST", name, "/comments", {"body": "On it", "public": public}, who)

    def move(self, name, to, who=None, **body):
        self.call("POST", name, "/transitions", {"to": to, **body}, who)

    def assign(self, name, group_id):
        version = self.call("GET", name, "", None)["version"]
        self.call("PATCH", name, "", {"group_id": group_id}, **{"If-Match": f'"{version}"'})

    def report(self, report, query=DAY, who=None):
        return self.api.call("GET", f"/v1/reports/{report}?{query}", who or self.agent)


def desk_day(ticketing_factory, clock):
    """A 24x7 UTC policy; the report window is Monday 2025-03-10 [00:00, 24:00), read at 18:00.

    Sun 23:00 F opened (incident, network); 23:10 agent's public comment
    Mon 01:00 F resolved
        08:00 A opened (incident, network, group G1), B opened (service request, hardware, G1)
        08:30 agent comments on A publicly; 08:40 internally
        09:00 A in progress;  09:30 B in progress (its first response, 30 min after its 09:00
              first-response breach)
        10:00 A resolved;     C opened (incident, network, group G2)
        10:50 C pending (awaiting requester): its first response
        12:00 D opened (incident, hardware, high priority: 30 / 120 min)
        13:00 E opened (service request, hardware); 13:30 its requester cancels it
        14:00 B resolved (its resolution target passed at 12:00)
        15:00 A reopened by its requester; 15:30 A resolved again (150 min of resolution clock)
        17:00 C resolved (50 min of resolution clock: pending does not count)
        18:00 now
    """
    desk, cfg, urls = started(ticketing_factory, clock)
    play_a(desk)
    desk.at(9, 23).open("F", category="network")
    desk.at(9, 23, 10).comment("F")
    desk.at(10, 1).move("F", "resolved")
    desk.at(10, 8).open("B", type="service_request", category="hardware")
    desk.assign("B", G1)
    desk.at(10, 9, 30).move("B", "in_progress")
    desk.at(10, 10).open("C", category="network")
    desk.assign("C", G2)
    desk.at(10, 10, 50).move("C", "pending", reason="awaiting_requester")
    desk.at(10, 12).open("D", category="hardware", urgency="high")
    desk.at(10, 13).open("E", type="service_request", category="hardware")
    desk.at(10, 13, 30).move("E", "cancelled", who=desk.requester)
    desk.at(10, 14).move("B", "resolved")
    desk.at(10, 17).move("C", "resolved")
    desk.at(10, 18)
    return desk, cfg, urls


def started(ticketing_factory, clock):
    api, cfg, urls, container = ticketing_factory(
        **{INJECTED_CLOCK_KEY: clock, "SLA_TIMER_INTERVAL": 3600}
    )
    assert api.call("PUT", "/v1/sla/policy", api.user("admin"), POLICY).status_code == 200
    desk = Desk(api, clock)
    desk.container = container
    return desk, cfg, urls


def play_a(desk):
    """Ticket A's part of the day (its stream is its own: the others' come after it)."""
    desk.at(10, 8).open("A", category="network")
    desk.assign("A", G1)
    desk.at(10, 8, 30).comment("A")
    desk.at(10, 8, 40).comment("A", public=False)
    desk.at(10, 9).move("A", "in_progress")
    desk.at(10, 10).move("A", "resolved")
    desk.at(10, 15).move("A", "in_progress", who=desk.requester)
    desk.at(10, 15, 30).move("A", "resolved")
    desk.at(10, 18)
    return desk


@pytest.fixture
def day(ticketing_factory):
    return desk_day(ticketing_factory, HandClock())


@pytest.fixture
def desk_a(ticketing_factory):
    """Ticket A alone, on the same day."""
    return play_a(started(ticketing_factory, HandClock())[0])


def body(response):
    assert response.status_code == 200, response.text
    return response.json()


def test_the_reports_total_and_grouped_match_the_numbers_worked_out_by_hand(day):
    desk, _, _ = day
    sla = body(desk.report("sla-compliance"))
    assert sla["from"] == "2025-03-10T00:00:00+00:00" and sla["to"] == "2025-03-11T00:00:00+00:00"
    assert sla["rows"] == [] and sla["group_by"] is None
    # first response: A (08:30) and C (10:50) met; B (09:00) and D (12:30) missed; F's was on
    # Sunday; E was cancelled unanswered before its target. Resolution: F (01:00), A (15:30)
    # and C (17:00) met; B (12:00) and D (14:00) missed
    assert sla["total"] == {
        "tickets": 5,
        "first_response_met": 2,
        "first_response_missed": 2,
        "first_response_compliance": 0.5,
        "resolution_met": 3,
        "resolution_missed": 2,
        "resolution_compliance": 0.6,
    }
    # F 2 h, A 7.5 h (its reopen included), B 6 h, C 7 h
    assert body(desk.report("mttr"))["total"] == {
        "resolved": 4,
        "mean_seconds": 20250.0,
        "median_seconds": 23400.0,
    }
    # A 30 min, B 90 min, C 50 min
    assert body(desk.report("first-response"))["total"] == {
        "responded": 3,
        "mean_seconds": 3400.0,
        "median_seconds": 3000.0,
    }
    # F was new at midnight; D is the only one left at the end of the day
    assert body(desk.report("backlog"))["total"] == {
        "backlog_at_from": 1,
        "opened": 5,
        "resolved": 4,
        "cancelled": 1,
        "backlog_at_to": 1,
    }
    # a shorter window counts only what falls inside it
    morning = "from=2025-03-10T08:00:00%2B00:00&to=2025-03-10T12:00:00Z"
    assert body(desk.report("backlog", morning))["total"] == {
        "backlog_at_from": 0,  # F was resolved at 01:00
        "opened": 3,  # A, B, C
        "resolved": 1,  # A at 10:00
        "cancelled": 0,
        "backlog_at_to": 2,  # B in progress, C pending; D opens at 12:00, the window's end
    }
    assert body(desk.report("mttr", morning))["total"]["resolved"] == 0  # A's latest is 15:30
    # each group its own numbers; the total is over every ticket
    by_type = body(desk.report("sla-compliance", DAY + "&group_by=type"))
    assert by_type["rows"] == [
        {
            "group": "incident",
            "tickets": 4,
            "first_response_met": 2,
            "first_response_missed": 1,
            "first_response_compliance": 0.6667,
            "resolution_met": 3,
            "resolution_missed": 1,
            "resolution_compliance": 0.75,
        },
        {
            "group": "service_request",
            "tickets": 1,
            "first_response_met": 0,
            "first_response_missed": 1,
            "first_response_compliance": 0.0,
            "resolution_met": 0,
            "resolution_missed": 1,
            "resolution_compliance": 0.0,
        },
    ]
    assert by_type["total"]["tickets"] == 5
    by_category = body(desk.report("mttr", DAY + "&group_by=category"))["rows"]
    assert by_category == [
        {"group": "hardware", "resolved": 1, "mean_seconds": 21600.0, "median_seconds": 21600.0},
        {"group": "network", "resolved": 3, "mean_seconds": 19800.0, "median_seconds": 25200.0},
    ]
    by_group = body(desk.report("backlog", DAY + "&group_by=group"))["rows"]
    expected = {
        G1: [0, 2, 2, 0, 0],
        G2: [0, 1, 1, 0, 0],
        None: [1, 2, 1, 1, 1],
    }
    assert {
        row["group"]: [
            row[k] for k in ("backlog_at_from", "opened", "resolved", "cancelled", "backlog_at_to")
        ]
        for row in by_group
    } == expected
    assert by_group[-1]["group"] is None  # the tickets of no group come last
    by_priority = body(desk.report("first-response", DAY + "&group_by=priority"))["rows"]
    # D (high) was never answered, so only medium tickets count
    assert by_priority == [
        {"group": "medium", "responded": 3, "mean_seconds": 3400.0, "median_seconds": 3000.0}
    ]


def test_a_rebuild_from_the_streams_gives_the_same_reports(day):
    desk, cfg, urls = day
    # each grouped report carries its total too
    queries = [
        (report, f"{DAY}&group_by={group}")
        for report in ("sla-compliance", "mttr", "backlog", "first-response")
        for group in ("type", "priority", "group", "category")
    ]
    before = [body(desk.report(report, query)) for report, query in queries]
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute("DELETE FROM ticket_report_facts")
    emptied = body(desk.report("backlog"))["total"]
    assert emptied["opened"] == 0
    with service_rpc("ticketing", cfg) as ticketing_rpc:
        assert ticketing_rpc.rebuild_read_model(desk.api.tenant_id)["tickets"] == 6
    assert [body(desk.report(report, query)) for report, query in queries] == before


def test_a_policy_change_rejudges_a_resolved_ticket_when_the_sla_timer_recomputes(desk_a):
    desk = desk_a
    assert body(desk.report("sla-compliance"))["total"]["resolution_met"] == 1
    stricter = json.loads(json.dumps(POLICY))
    stricter["targets"]["medium"]["resolution_minutes"] = 120  # A spent 150 minutes
    assert desk.api.call("PUT", "/v1/sla/policy", desk.api.user("admin"), stricter).ok
    with entrypoint_hook(desk.container, "check_sla") as check_sla:
        check_sla(desk.api.tenant_id, desk.tickets["A"])  # what the timer does after a change
    total = body(desk.report("sla-compliance"))["total"]
    assert (total["resolution_met"], total["resolution_missed"]) == (0, 1)


def test_csv_and_ndjson_carry_the_rows_then_the_total(desk_a):
    desk = desk_a
    query = DAY + "&group_by=type"
    document = body(desk.report("mttr", query))
    as_csv = desk.api.call("GET", f"/v1/reports/mttr?{query}", desk.agent, **{"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(line["scope"], line["group"], line["resolved"]) for line in lines] == [
        ("group", "incident", "1"),
        ("total", "", "1"),
    ]
    assert float(lines[-1]["mean_seconds"]) == document["total"]["mean_seconds"] == 27000
    by_param = desk.report("mttr", query + "&format=csv")
    assert by_param.headers["Content-Type"].startswith("text/csv") and by_param.text == as_csv.text
    as_ndjson = desk.api.call(
        "GET", f"/v1/reports/mttr?{query}", desk.agent, **{"Accept": "application/x-ndjson"}
    )
    assert as_ndjson.headers["Content-Type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in as_ndjson.text.splitlines()]
    assert [row["scope"] for row in rows] == ["group", "total"]
    assert rows[0] == {
        "report": "mttr",
        "from": document["from"],
        "to": document["to"],
        "group_by": "type",
        "scope": "group",
        **document["rows"][0],
    }
    assert {k: rows[-1][k] for k in document["total"]} == document["total"]
    default = desk.api.call("GET", f"/v1/reports/mttr?{query}", desk.agent, **{"Accept": "*/*"})
    assert default.headers["Content-Type"] == "application/json" and default.json() == document


def test_bad_report_queries_are_422_problems_naming_the_parameter(ticketing):
    desk = Desk(ticketing[0], HandClock())
    for query, field in (
        ("from=2025-03-11T00:00:00Z&to=2025-03-10T00:00:00Z", "from"),
        ("from=2025-03-10T00:00:00Z&to=2025-03-10T00:00:00Z", "from"),
        (DAY + "&group_by=assignee", "group_by"),
        ("from=yesterday", "from"),
        ("to=2025-03-10T08:00:00", "to"),  # no offset: which 08:00?
        ("to=2025-02-30", "to"),
        (DAY + "&format=xlsx", "format"),
    ):
        response = desk.report("backlog", query)
        assert response.status_code == 422, (query, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"], (query, response.json())
    assert desk.report("happiness").status_code == 404
    assert desk.report("mttr", who=desk.requester).status_code == 403


def test_another_tenant_sees_nothing_of_the_tenants_reports(desk_a):
    desk = desk_a
    assert body(desk.report("mttr"))["total"]["resolved"] == 1
    other = desk.api.other_tenant()
    agent = other.user("agent")
    for report in ("sla-compliance", "mttr", "backlog", "first-response"):
        seen = other.call("GET", f"/v1/reports/{report}?{DAY}&group_by=type", agent).json()
        assert seen["rows"] == [], report
        assert not any(value for value in seen["total"].values()), (report, seen["total"])


# a ticket as it was


def ticket_as_of(desk, name, instant, who=None):
    return desk.api.call(
        "GET", f"/v1/tickets/{desk.tickets[name]}?as_of={instant}", who or desk.agent
    )


def test_a_ticket_as_of_an_instant_shows_its_state_then(desk_a):
    desk = desk_a
    then = body(ticket_as_of(desk, "A", "2025-03-10T08:45:00Z"))
    assert (then["status"], then["first_responded_at"], then["resolved_at"]) == (
        "new",
        "2025-03-10T08:30:00+00:00",
        None,
    )
    assert [c["public"] for c in then["comments"]] == [True, False]
    assert then["group_id"] == G1 and then["version"] == 4
    # its clocks at 08:45: 45 minutes of the 240 spent
    assert then["sla"]["resolution"]["remaining_seconds"] == 240 * 60 - 45 * 60
    assert then["sla"]["first_response"]["met_at"] == "2025-03-10T08:30:00+00:00"
    resolved = body(ticket_as_of(desk, "A", "2025-03-10T12:00:00%2B01:00"))  # 11:00 UTC
    assert (resolved["status"], resolved["resolved_at"]) == (
        "resolved",
        "2025-03-10T10:00:00+00:00",
    )
    now = body(desk.api.call("GET", f"/v1/tickets/{desk.tickets['A']}", desk.agent))
    assert (now["reopen_count"], now["resolved_at"]) == (1, "2025-03-10T15:30:00+00:00")
    # an instant to the microsecond of an event includes it
    assert body(ticket_as_of(desk, "A", "2025-03-10T09:00:00Z"))["status"] == "in_progress"


def test_as_of_before_the_ticket_opened_or_of_another_tenant_is_a_404(desk_a):
    desk = desk_a
    assert ticket_as_of(desk, "A", "2025-03-10T07:59:59Z").status_code == 404
    other = desk.api.other_tenant()
    stranger = other.call(
        "GET", f"/v1/tickets/{desk.tickets['A']}?as_of=2025-03-10T09:00:00Z", other.user("agent")
    )
    assert stranger.status_code == 404
    bad = ticket_as_of(desk, "A", "last-tuesday")
    assert bad.status_code == 422 and "as_of" in bad.json()["errors"]


def test_a_requester_as_of_sees_the_public_comments_only(desk_a):
    desk = desk_a
    then = body(ticket_as_of(desk, "A", "2025-03-10T08:45:00Z", desk.requester))
    assert [c["public"] for c in then["comments"]] == [True]
    outsider = ticket_as_of(desk, "A", "2025-03-10T08:45:00Z", desk.api.user("requester"))
    assert outsider.status_code == 404


def test_erased_fields_stay_erased_as_of_an_earlier_instant(ticketing_factory):
    clock = HandClock()
    api, cfg, _, _ = ticketing_factory(**{INJECTED_CLOCK_KEY: clock, "SLA_TIMER_INTERVAL": 3600})
    requester, agent = api.user("requester"), api.user("agent")
    ticket = api.open(requester, description="my home address is 12 Elm Street")
    clock.at += timedelta(minutes=5)
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", requester, {"body": "Call me"})
    clock.at += timedelta(minutes=5)
    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as ticketing_rpc:
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        ticketing_rpc.purge_subject(api.tenant_id, requester["user_id"], "req-1")
    then = api.call("GET", f"/v1/tickets/{ticket['id']}?as_of=2025-03-09T23:06:00Z", agent).json()
    assert then["description"] == "[erased]" and then["title"] == "[erased]"
    assert [c["body"] for c in then["comments"]] == ["[erased]"]
