"""SLA clocks of one ticket, rebuilt from its events: status, due instants and pending timers.

Clock rules:
- first_response and resolution start when the ticket is opened; every clock counts business
  time of the calendar of the policy that applies to the ticket now.
- first_response runs until the first response (events whose data has `first_response: true`,
  see domain.permissions.counts_as_first_response); it does not pause while pending. It stops,
  unmet, while the ticket is resolved, closed or cancelled (a reopen restarts it).
- resolution runs while new or in_progress, pauses while pending, and is met while the ticket
  is resolved or closed (met_at = the latest resolution); a reopen resumes it from the time
  already spent; a cancellation stops it unmet.
- The target is the *current* priority's target (of the policy that applies now), applied to
  all time elapsed so far: raising the priority shortens the deadline retroactively, lowering
  it extends the deadline.
- A target is breached once its elapsed business time reaches the target (met late counts as
  breached); warned once it reaches warning_ratio of the target.
- next_response (only for a priority whose policy sets it) runs once per round: a round starts
  with a public comment of the requester after the first response, when no round is waiting,
  and is met by the next public comment of anyone else (an agent's reply: only staff and the
  requester comment). It runs while the ticket is active (as first_response), so resolving
  stops it unmet and a reopen resumes it. Its alerts carry the round's number (1, 2...), so
  each round warns and breaches once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from services.ticketing.domain import (
    ACTIVE,
    CLOSED,
    IN_PROGRESS,
    NEW,
    PENDING,
    RESOLVED,
    RecordedEvent,
    SlaAlert,
)
from services.ticketing.domain.model import (
    COMMENT_ADDED,
    PRIORITY_CHANGED,
    SLA_BREACHED,
    SLA_WARNING,
    STATUS_CHANGED,
    TICKET_OPENED,
)

from .policy import FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION, SlaPolicy

_RUNS_WHILE = {
    FIRST_RESPONSE: ACTIVE,
    RESOLUTION: frozenset({NEW, IN_PROGRESS}),
    NEXT_RESPONSE: ACTIVE,
}


class SlaTimer(NamedTuple):
    """An alert to raise at `at`: kind "warning" or "breach", for one target."""

    kind: str
    target: str
    at: datetime
    due_at: datetime
    target_minutes: int
    round: int = 0


class SlaHistory(NamedTuple):
    """What the clocks need of a stream, folded event by event (`fold_sla`); JSON via to_json."""

    priority: str | None
    segments: tuple[tuple[datetime, str], ...]  # (since, status), in order
    first_response_at: datetime | None
    alerts: frozenset[SlaAlert]
    requester_id: str | None = None
    # next-response rounds: (requester's message, the reply that met it or None), in order
    rounds: tuple[tuple[datetime, datetime | None], ...] = ()

    def to_json(self) -> dict:
        return {
            "priority": self.priority,
            "segments": [[since.isoformat(), status] for since, status in self.segments],
            "first_response_at": _iso(self.first_response_at),
            "alerts": sorted([list(alert) for alert in self.alerts]),
            "requester_id": self.requester_id,
            "rounds": [[since.isoformat(), _iso(until)] for since, until in self.rounds],
        }

    @classmethod
    def from_json(cls, body: dict) -> SlaHistory:
        """Also reads what was stored before next-response rounds were kept (none then)."""
        return cls(
            body["priority"],
            tuple((datetime.fromisoformat(since), status) for since, status in body["segments"]),
            _instant(body["first_response_at"]),
            frozenset(SlaAlert(*alert) for alert in body["alerts"]),
            body.get("requester_id"),
            tuple(
                (datetime.fromisoformat(since), _instant(until))
                for since, until in body.get("rounds", ())
            ),
        )


EMPTY_HISTORY = SlaHistory(None, (), None, frozenset())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def fold_sla(history: SlaHistory, event: RecordedEvent) -> SlaHistory:
    """The history after one more event of the stream."""
    priority, segments, first_response_at, alerts, requester_id, rounds = history
    if event.type == TICKET_OPENED:
        priority, segments = event.data["priority"], ((event.occurred_at, NEW),)
        requester_id = event.data.get("requester_id")
    elif event.type == PRIORITY_CHANGED:
        priority = event.data["priority"]
    elif event.type == STATUS_CHANGED:
        segments = (*segments, (event.occurred_at, event.data["to_status"]))
    elif event.type in (SLA_WARNING, SLA_BREACHED):
        kind = "warning" if event.type == SLA_WARNING else "breach"
        alert = SlaAlert(
            kind, event.data["target"], event.data["target_minutes"], event.data.get("round", 0)
        )
        alerts = alerts | {alert}
    elif event.type == COMMENT_ADDED and not event.data.get("internal"):
        waiting = bool(rounds) and rounds[-1][1] is None
        if event.actor_id == requester_id:
            if first_response_at is not None and not waiting:
                rounds = (*rounds, (event.occurred_at, None))
        elif waiting:
            rounds = (*rounds[:-1], (rounds[-1][0], event.occurred_at))
    if event.data.get("first_response") and first_response_at is None:
        first_response_at = event.occurred_at
    return SlaHistory(priority, segments, first_response_at, alerts, requester_id, rounds)


def sla_history(events: Sequence[RecordedEvent]) -> SlaHistory:
    history = EMPTY_HISTORY
    for event in events:
        history = fold_sla(history, event)
    return history


def sla_status(
    policy: SlaPolicy, events: Sequence[RecordedEvent] | SlaHistory, now: datetime
) -> dict[str, dict]:
    """{"first_response": {...}, "resolution": {...}[, "next_response": {...}]} at `now`.

    `events` is the whole stream, or its SlaHistory (what a snapshot or the read model keeps).
    next_response is there when the policy sets one for the ticket's priority.

    Each target: target_minutes, elapsed_seconds and remaining_seconds (business time; remaining
    goes negative once overdue), paused, stopped, breached, warned, due_at (the deadline while
    the clock runs, in the past once breached; None while paused, stopped or met) and met_at;
    next_response also its round (0 until a first round starts). Instants are UTC datetimes.
    """
    history = _history(events)
    return {
        target: _clock(policy, history, target, now)
        for target in policy.targets_for(history.priority)
    }


def next_sla_timers(
    policy: SlaPolicy,
    events: Sequence[RecordedEvent] | SlaHistory,
    now: datetime,
    status: dict[str, dict] | None = None,
) -> list[SlaTimer]:
    """The warning and breach alerts still to record, earliest first; `at <= now` means due now.

    Only running clocks have timers. An alert already recorded in the stream (same kind, target,
    target length and round) is left out, so a timer that recomputes this list from the stream
    and records what is due is idempotent. A warning is left out once its breach is due or
    recorded. Always recompute from the current stream before recording: a pause or a response
    moves or removes the instants. `status`: the `sla_status` at `now`, when the caller has it.
    """
    history = _history(events)
    timers = []
    for target in policy.targets_for(history.priority):
        clock = status[target] if status and target in status else None
        clock = clock or _clock(policy, history, target, now)
        if clock["due_at"] is None:
            continue
        minutes, round_ = clock["target_minutes"], _round(history, target)
        if SlaAlert("breach", target, minutes, round_) in history.alerts:
            continue
        if (
            SlaAlert("warning", target, minutes, round_) not in history.alerts
            and clock["due_at"] > now
        ):
            warn_at = _instant_reaching(
                policy, history, target, now, minutes * 60 * policy.warning_ratio
            )
            timers.append(SlaTimer("warning", target, warn_at, clock["due_at"], minutes, round_))
        timers.append(SlaTimer("breach", target, clock["due_at"], clock["due_at"], minutes, round_))
    return sorted(timers, key=lambda timer: timer.at)


def recorded_sla_alerts(events: Sequence[RecordedEvent] | SlaHistory) -> frozenset[SlaAlert]:
    """The SLA alerts already in the stream, by (kind, target, target_minutes, round)."""
    return _history(events).alerts


def _history(events: Sequence[RecordedEvent] | SlaHistory) -> SlaHistory:
    history = events if isinstance(events, SlaHistory) else sla_history(events)
    if history.priority is None:
        raise ValueError("the events do not start with ticket_opened")
    return history


def _round(history: SlaHistory, target: str) -> int:
    return len(history.rounds) if target == NEXT_RESPONSE else 0


def _span(history: SlaHistory, target: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The part of the ticket's life the target's clock may count: from opening (the current
    round's start for next_response) until now, the first response or the reply that met it."""
    if target == NEXT_RESPONSE:
        if not history.rounds:
            return None
        since, until = history.rounds[-1]
        return since, min(now, until) if until else now
    start = history.segments[0][0]
    if target == FIRST_RESPONSE and history.first_response_at is not None:
        return start, min(now, history.first_response_at)
    return start, now


def _running_intervals(
    history: SlaHistory, target: str, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans during which the target's clock ran, the last one ending at `now` if still
    running."""
    span = _span(history, target, now)
    if span is None:
        return []
    start_at, stop_at = span
    intervals = []
    ends = [since for since, _ in history.segments[1:]] + [stop_at]
    for (since, status), until in zip(history.segments, ends):
        since, until = max(since, start_at), min(until, stop_at)
        if status in _RUNS_WHILE[target] and until > since:
            intervals.append((since, until))
    return intervals


def _met_at(history: SlaHistory, target: str) -> datetime | None:
    if target == FIRST_RESPONSE:
        return history.first_response_at
    if target == NEXT_RESPONSE:
        return history.rounds[-1][1] if history.rounds else None
    if history.segments[-1][1] in (RESOLVED, CLOSED):
        return next(since for since, s in reversed(history.segments) if s == RESOLVED)
    return None


def _is_running(history: SlaHistory, target: str) -> bool:
    if target != RESOLUTION and _met_at(history, target) is not None:
        return False
    if target == NEXT_RESPONSE and not history.rounds:
        return False
    return history.segments[-1][1] in _RUNS_WHILE[target]


def _instant_reaching(
    policy: SlaPolicy, history: SlaHistory, target: str, now: datetime, seconds: float
) -> datetime | None:
    """When the clock's elapsed business time reaches `seconds` (past or future), if it does."""
    calendar, spent = policy.calendar, 0.0
    intervals = _running_intervals(history, target, now)
    for since, until in intervals:
        span = calendar.business_seconds_between(since, until)
        if spent + span >= seconds:
            return calendar.add_business_seconds(since, seconds - spent)
        spent += span
    if not _is_running(history, target):
        return None
    return calendar.add_business_seconds(now, seconds - spent)


def _clock(policy: SlaPolicy, history: SlaHistory, target: str, now: datetime) -> dict:
    minutes = policy.target_minutes(history.priority, target)
    target_seconds = minutes * 60
    elapsed = sum(
        policy.calendar.business_seconds_between(since, until)
        for since, until in _running_intervals(history, target, now)
    )
    status = history.segments[-1][1]
    running = _is_running(history, target)
    paused = target == RESOLUTION and status == PENDING
    met_at = _met_at(history, target)
    idle = target == NEXT_RESPONSE and not history.rounds
    clock = {
        "target_minutes": minutes,
        "elapsed_seconds": elapsed,
        "remaining_seconds": target_seconds - elapsed,
        "paused": paused,
        "stopped": not (running or paused or met_at or idle),
        "breached": elapsed >= target_seconds,
        "warned": elapsed >= target_seconds * policy.warning_ratio,
        "due_at": _instant_reaching(policy, history, target, now, target_seconds)
        if running
        else None,
        "met_at": met_at,
    }
    if target == NEXT_RESPONSE:
        clock["round"] = len(history.rounds)
    return clock


def breach_instant(
    policy: SlaPolicy, events: Sequence[RecordedEvent] | SlaHistory, target: str, now: datetime
) -> datetime | None:
    """When the target's elapsed business time reached (or, while its clock runs, will reach)
    the target: past for a target breached, future for a running clock still within it, None
    for a clock that stopped, paused or was met before reaching it. The same instant whatever
    `now` it is computed at, as long as no event follows (what the report facts keep)."""
    history = _history(events)
    minutes = policy.target_minutes(history.priority, target)
    if minutes is None:
        return None  # a next response the policy does not set
    return _instant_reaching(policy, history, target, now, minutes * 60)
