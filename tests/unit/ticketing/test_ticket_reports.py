"""The report facts of a ticket's stream and the pure report arithmetic over them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing import reports
from services.ticketing.domain import AddComment, Transition
from services.ticketing.sla import BusinessCalendar, SlaPolicy, sla_history

# 24x7, so that every minute counts: 60 min first response, 240 min resolution
POLICY = SlaPolicy(
    BusinessCalendar.always_open("UTC"),
    {p: (60, 240) for p in ("low", "medium", "high", "critical")},
)
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(days=1))


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def facts(stream, now=None):
    return reports.ticket_facts(stream.state, POLICY, sla_history(stream.events), now or stream.now)


def fact(opened=0, responded=None, resolved=None, fr_breach=None, res_breach=None, **more):
    """A facts row by hand: instants in minutes after T0."""

    def instant(value):
        return None if value is None else minutes(value)

    statuses = more.pop("statuses", [(0, "new")])
    return {
        "type": "incident",
        "priority": "medium",
        "group_id": None,
        "category": None,
        "opened_at": instant(opened),
        "first_responded_at": instant(responded),
        "resolved_at": instant(resolved),
        "first_response_breached_at": instant(fr_breach),
        "resolution_breached_at": instant(res_breach),
        "statuses": [(minutes(m), s) for m, s in statuses],
        **more,
    }


# the facts a stream gives


def test_a_ticket_answered_and_resolved_in_time_has_no_breach(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    stream.advance(minutes=20)
    stream.when(AddComment(actor=agent, comment_id=new_id(), body="Looking", internal=False))
    stream.advance(minutes=100)
    stream.when(Transition(actor=agent, to="resolved"))
    got = facts(stream)
    assert (got["first_responded_at"], got["resolved_at"]) == (minutes(20), minutes(120))
    assert (got["first_response_breached_at"], got["resolution_breached_at"]) == (None, None)
    assert got["left_active_at"] == minutes(120) and got["status"] == "resolved"
    assert got["statuses"] == [(T0, "new"), (minutes(120), "resolved")]


def test_a_running_clock_breaches_at_its_deadline_whenever_the_facts_are_taken(
    open_ticket, requester
):
    stream = open_ticket(requester)
    early, late = facts(stream, minutes(1)), facts(stream, minutes(500))
    assert early["first_response_breached_at"] == late["first_response_breached_at"] == minutes(60)
    assert early["resolution_breached_at"] == late["resolution_breached_at"] == minutes(240)


def test_a_pause_moves_the_resolution_breach_and_met_late_keeps_its_breach(
    open_ticket, requester, agent
):
    stream = open_ticket(requester)
    stream.advance(minutes=30)
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_requester"))
    paused = facts(stream)
    assert paused["resolution_breached_at"] is None  # a paused clock never reaches its target
    assert paused["first_response_breached_at"] is None  # answered by the move, at 30 min
    stream.advance(minutes=60)
    stream.when(Transition(actor=agent, to="in_progress"))
    assert facts(stream)["resolution_breached_at"] == minutes(90 + 210)
    stream.advance(minutes=300)
    stream.when(Transition(actor=agent, to="resolved"))
    late = facts(stream)
    assert late["resolution_breached_at"] == minutes(300) and late["resolved_at"] == minutes(390)


def test_a_reopened_ticket_is_active_again_until_it_settles(open_ticket, requester, agent):
    stream = open_ticket(requester, "resolved")
    stream.advance(minutes=10)
    stream.when(Transition(actor=requester, to="in_progress"))
    reopened = facts(stream)
    assert reopened["resolved_at"] is None and reopened["left_active_at"] is None
    stream.advance(minutes=10)
    stream.when(Transition(actor=agent, to="resolved"))
    stream.advance(minutes=10)
    stream.when(Transition(actor=requester, to="closed"))
    assert facts(stream)["left_active_at"] == minutes(20)


def test_the_facts_hold_no_personal_text(open_ticket, requester):
    stream = open_ticket(requester, description="my home address is 12 Elm Street")
    assert "Elm" not in repr(facts(stream)) and "Printer" not in repr(facts(stream))


# the arithmetic


@pytest.mark.parametrize(
    ("met", "breach", "now", "expected"),
    [
        (30, None, 999, ("met", minutes(30))),
        (90, 60, 999, ("missed", minutes(60))),
        (60, 60, 999, ("missed", minutes(60))),  # met at the deadline is met late
        (None, 60, 999, ("missed", minutes(60))),
        (None, 60, 59, None),  # a deadline still ahead decides nothing
        (None, None, 999, None),
    ],
)
def test_an_sla_outcome_is_decided_when_met_or_when_its_target_passes(met, breach, now, expected):
    def instant(value):
        return None if value is None else minutes(value)

    assert reports.outcome(instant(met), instant(breach), minutes(now)) == expected


def test_sla_compliance_counts_each_target_in_the_window_its_outcome_was_decided():
    rows = [
        fact(responded=10, resolved=100),  # both met
        fact(responded=90, fr_breach=60, resolved=300, res_breach=240),  # both missed
        fact(fr_breach=60, res_breach=700),  # unanswered; its resolution is due after now
        fact(opened=-2000, responded=-1990, resolved=-1000),  # decided before the window
    ]
    got = reports.sla_compliance(rows, *WINDOW, now=minutes(600))
    assert got == {
        "tickets": 3,
        "first_response_met": 1,
        "first_response_missed": 2,
        "first_response_compliance": 0.3333,
        "resolution_met": 1,
        "resolution_missed": 1,
        "resolution_compliance": 0.5,
    }


def test_nothing_decided_is_a_compliance_of_null_not_zero():
    got = reports.sla_compliance([fact()], *WINDOW, now=minutes(10))
    assert got["first_response_compliance"] is None and got["tickets"] == 0


def test_mttr_and_first_response_are_wall_clock_means_and_medians_in_the_window():
    rows = [
        fact(responded=10, resolved=60),
        fact(responded=20, resolved=120),
        fact(responded=60, resolved=300),
        fact(opened=-100, responded=2000, resolved=2000),  # after the window
    ]
    assert reports.mttr(rows, *WINDOW, now=None) == {
        "resolved": 3,
        "mean_seconds": 160 * 60.0,
        "median_seconds": 120 * 60.0,
    }
    assert reports.first_response(rows, *WINDOW, now=None) == {
        "responded": 3,
        "mean_seconds": 30 * 60.0,
        "median_seconds": 20 * 60.0,
    }
    assert reports.mttr([], *WINDOW, now=None) == {
        "resolved": 0,
        "mean_seconds": None,
        "median_seconds": None,
    }


def test_the_backlog_at_to_is_the_backlog_at_from_plus_what_came_in_minus_what_went_out():
    day = 24 * 60
    rows = [
        fact(opened=-60, statuses=[(-60, "new"), (30, "resolved")]),
        fact(opened=-60, statuses=[(-60, "new"), (-30, "resolved"), (100, "in_progress")]),
        fact(opened=100, statuses=[(100, "new"), (200, "pending")]),
        fact(opened=200, statuses=[(200, "new"), (300, "cancelled")]),
        fact(opened=day, statuses=[(day, "new")]),  # opened at `to`: the next window's
    ]
    got = reports.backlog(rows, *WINDOW, now=None)
    assert got == {
        "backlog_at_from": 1,
        "opened": 2,
        "resolved": 1,
        "cancelled": 1,
        "backlog_at_to": 2,
    }


def test_the_status_just_before_an_instant_leaves_out_a_change_at_that_instant():
    segments = [(minutes(0), "new"), (minutes(10), "resolved")]
    assert reports.status_before(segments, minutes(0)) is None
    assert reports.status_before(segments, minutes(10)) == "new"
    assert reports.status_before(segments, minutes(11)) == "resolved"


def test_groups_come_in_order_with_no_group_last_and_the_total_over_everything():
    rows = [
        fact(resolved=60, category="network"),
        fact(resolved=120, category=None),
        fact(resolved=180, category="hardware"),
        fact(resolved=240, category="network"),
    ]
    document = reports.compute("mttr", rows, *WINDOW, "category", minutes(999))
    assert [(row["group"], row["resolved"]) for row in document["rows"]] == [
        ("hardware", 1),
        ("network", 2),
        (None, 1),
    ]
    assert document["total"]["mean_seconds"] == 150 * 60.0
    assert reports.compute("mttr", rows, *WINDOW, None, minutes(999))["rows"] == []


def test_csv_has_a_header_each_group_then_the_total_and_never_a_formula():
    rows = [fact(resolved=60, category="=HYPERLINK(1)"), fact(resolved=120, category="network")]
    document = reports.compute("mttr", rows, *WINDOW, "category", minutes(999))
    text = reports.render(document, "text/csv")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["scope", "group", "resolved", "mean_seconds", "median_seconds"]
    assert [line[:3] for line in lines[1:]] == [
        ["group", "'=HYPERLINK(1)", "1"],
        ["group", "network", "1"],
        ["total", "", "2"],
    ]


def test_ndjson_is_one_self_describing_line_per_row():
    document = reports.compute("backlog", [fact()], *WINDOW, "type", minutes(999))
    lines = [
        json.loads(line)
        for line in reports.render(document, "application/x-ndjson").split("\n")
        if line
    ]
    assert [(line["scope"], line["group"], line["report"]) for line in lines] == [
        ("group", "incident", "backlog"),
        ("total", None, "backlog"),
    ]
    assert json.loads(reports.render(document, "application/json")) == document
