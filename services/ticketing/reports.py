"""Desk reports: the facts each ticket's stream gives, and the pure arithmetic over them.

A ticket's facts (`ticket_facts`) are a row of the `ticket_report_facts` read model, rewritten
with the tickets row after every append (and on a rebuild, from the streams): its current type,
priority, group and category, when it was opened, first responded to, resolved and settled, its
status changes, and when each SLA target was (or, while its clock runs, will be) breached, under
the SLA policy the projection used. No personal field is among them.

Every report covers a half-open window [from, to) and may group by the ticket's *current* type,
priority, group or category; `total` is computed over every ticket, not summed from groups.

sla-compliance  per target (first response, resolution), each ticket whose outcome was decided
                in the window: met, at the instant it was met (first response given, ticket
                resolved) before the target was reached; missed, at the instant the target was
                reached without being met (met late counts as missed, at the breach). Running,
                paused and stopped-unmet clocks that never reached their target are undecided
                and not counted; a reopened ticket's resolution is judged again. compliance =
                met / (met + missed), null when nothing was decided.
mttr            tickets whose (latest) resolution falls in the window: mean and median of
                resolved_at - opened_at, wall-clock seconds (pending time and time before a
                reopen included; the SLA's business-time clock is not this number).
first-response  tickets first responded to in the window (the first public comment or status
                change by staff other than the requester): mean and median of
                first_responded_at - opened_at, wall-clock seconds.
backlog         backlog_at_from and backlog_at_to: tickets whose status just before that
                instant was new, in_progress or pending; opened, resolved and cancelled: tickets
                opened, moved to resolved, cancelled in the window (each ticket once).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from services.ticketing.domain import ACTIVE, CANCELLED, RESOLVED, Ticket
from services.ticketing.sla import FIRST_RESPONSE, RESOLUTION, SlaHistory, SlaPolicy, breach_instant

REPORTS = ("sla-compliance", "mttr", "backlog", "first-response")
# the query's group_by -> the fact's column
GROUP_BY = {"type": "type", "priority": "priority", "group": "group_id", "category": "category"}
KINDS = ("met", "missed")
# a spreadsheet runs a cell that opens with one of these as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"json": "application/json", "csv": "text/csv", "ndjson": "application/x-ndjson"}


# the facts of one ticket


def ticket_facts(
    state: Ticket, policy: SlaPolicy, history: SlaHistory, now: datetime, status=None
) -> dict:
    """The report facts of a ticket's state and SLA history, its clocks judged under `policy`
    (`status`: the `sla_status` at `now`, when the caller has it already)."""
    segments = list(history.segments)
    return {
        "ticket_id": state.ticket_id,
        "type": state.type,
        "priority": state.priority,
        "group_id": state.group_id,
        "category": state.category,
        "status": state.status,
        "opened_at": state.opened_at,
        "first_responded_at": state.first_responded_at,
        "resolved_at": state.resolved_at,
        "left_active_at": left_active_at(segments),
        "statuses": segments,
        "first_response_breached_at": _breached_at(policy, history, FIRST_RESPONSE, now, status),
        "resolution_breached_at": _breached_at(policy, history, RESOLUTION, now, status),
        "version": state.version,
    }


def _breached_at(policy, history, target, now, status):
    clock = status[target] if status else None
    if clock is not None and (clock["due_at"] is not None or not clock["breached"]):
        # a running clock's deadline is its breach; one stopped short of it has none
        return clock["due_at"]
    return breach_instant(policy, history, target, now)


def left_active_at(segments: Sequence[tuple[datetime, str]]) -> datetime | None:
    """When the ticket last left new/in_progress/pending, if it has not gone back since."""
    if not segments or segments[-1][1] in ACTIVE:
        return None
    left = segments[-1][0]
    for since, status in reversed(segments):
        if status in ACTIVE:
            break
        left = since
    return left


def status_before(segments: Sequence[tuple[datetime, str]], instant: datetime) -> str | None:
    """The status in effect just before `instant` (None: not opened yet)."""
    current = None
    for since, status in segments:
        if since >= instant:
            break
        current = status
    return current


# the reports


def within(instant: datetime | None, start: datetime, end: datetime) -> bool:
    return instant is not None and start <= instant < end


def outcome(met_at: datetime | None, breached_at: datetime | None, now: datetime):
    """("met" | "missed", decided at) of one SLA target, or None while undecided."""
    if breached_at is not None and (met_at is None or breached_at <= met_at):
        return ("missed", breached_at) if breached_at <= now else None
    if met_at is not None:
        return "met", met_at
    return None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def sla_compliance(facts: Iterable[dict], start: datetime, end: datetime, now: datetime) -> dict:
    counts = {f"{target}_{kind}": 0 for target in (FIRST_RESPONSE, RESOLUTION) for kind in KINDS}
    tickets = 0
    met_column = {FIRST_RESPONSE: "first_responded_at", RESOLUTION: "resolved_at"}
    for fact in facts:
        counted = False
        for target in (FIRST_RESPONSE, RESOLUTION):
            decided = outcome(fact[met_column[target]], fact[f"{target}_breached_at"], now)
            if decided and within(decided[1], start, end):
                counts[f"{target}_{decided[0]}"] += 1
                counted = True
        tickets += counted
    body = {"tickets": tickets}
    for target in (FIRST_RESPONSE, RESOLUTION):
        met, missed = counts[f"{target}_met"], counts[f"{target}_missed"]
        body.update(
            {
                f"{target}_met": met,
                f"{target}_missed": missed,
                f"{target}_compliance": _ratio(met, met + missed),
            }
        )
    return body


def _durations(facts, column, start, end):
    return [
        (fact[column] - fact["opened_at"]).total_seconds()
        for fact in facts
        if within(fact[column], start, end)
    ]


def _summary(count_name, durations):
    return {
        count_name: len(durations),
        "mean_seconds": round(statistics.fmean(durations), 3) if durations else None,
        "median_seconds": round(statistics.median(durations), 3) if durations else None,
    }


def mttr(facts: Iterable[dict], start: datetime, end: datetime, now: datetime) -> dict:
    return _summary("resolved", _durations(facts, "resolved_at", start, end))


def first_response(facts: Iterable[dict], start: datetime, end: datetime, now: datetime) -> dict:
    return _summary("responded", _durations(facts, "first_responded_at", start, end))


def backlog(facts: Iterable[dict], start: datetime, end: datetime, now: datetime) -> dict:
    body = {"backlog_at_from": 0, "opened": 0, "resolved": 0, "cancelled": 0, "backlog_at_to": 0}
    for fact in facts:
        segments = fact["statuses"]
        body["backlog_at_from"] += status_before(segments, start) in ACTIVE
        body["backlog_at_to"] += status_before(segments, end) in ACTIVE
        body["opened"] += within(fact["opened_at"], start, end)
        entered = {status for since, status in segments if within(since, start, end)}
        body["resolved"] += RESOLVED in entered
        body["cancelled"] += CANCELLED in entered
    return body


CALCULATIONS: dict[str, Callable[..., dict]] = {
    "sla-compliance": sla_compliance,
    "mttr": mttr,
    "backlog": backlog,
    "first-response": first_response,
}


def _order(value):
    return (value is None, "" if value is None else str(value))


def compute(
    report: str,
    facts: Sequence[dict],
    start: datetime,
    end: datetime,
    group_by: str | None,
    now: datetime,
) -> dict:
    """The report document: {report, from, to, group_by, rows: [{group, ...}], total}."""
    calculate = CALCULATIONS[report]
    rows = []
    if group_by:
        column, groups = GROUP_BY[group_by], {}
        for fact in facts:
            groups.setdefault(fact[column], []).append(fact)
        for value in sorted(groups, key=_order):
            rows.append({"group": value, **calculate(groups[value], start, end, now)})
    return {
        "report": report,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "rows": rows,
        "total": calculate(facts, start, end, now),
    }


# the report as CSV or NDJSON: one line per group, then the total


def flat_rows(document: dict) -> list[dict]:
    """Each group's row, then the total's, with `scope` ("group" or "total") first."""
    rows = [{"scope": "group", **row} for row in document["rows"]]
    return [*rows, {"scope": "total", "group": None, **document["total"]}]


def as_csv(document: dict) -> str:
    rows = flat_rows(document)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def as_ndjson(document: dict) -> str:
    header = {key: document[key] for key in ("report", "from", "to", "group_by")}
    return "".join(json.dumps({**header, **row}) + "\n" for row in flat_rows(document))


def render(document: dict, media_type: str) -> str:
    """The report in one of FORMATS' media types."""
    if media_type == FORMATS["csv"]:
        return as_csv(document)
    if media_type == FORMATS["ndjson"]:
        return as_ndjson(document)
    return json.dumps(document)
