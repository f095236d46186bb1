"""What every saga shares: participants with retries and timeouts, the deadline, serialisation.

The service persists `to_dict()` as JSON, and on each timer tick (or message) calls
`next_actions(now)`, performs the returned actions, reports outcomes (`on_receipt`,
`on_failure`, ...) and saves the saga again, in one transaction with any event it emits.
`next_actions` records what it hands out, so calling it twice does not send twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from services.privacy.sagas.actions import EmitReminder, Escalate, SagaPolicy

DEADLINE = timedelta(days=30)

# Participant steps, as shown in status_view().
PENDING, AWAITING, RETRYING, DONE = "pending", "awaiting", "retrying", "done"


class SagaError(Exception):
    """A saga was driven in a way its state does not allow."""


@dataclass
class Participant:
    name: str
    step: str = PENDING
    attempts: int = 0
    failures: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    done_at: datetime | None = None
    escalated: bool = False


_TIME_FIELDS = ("requested_at", "deadline", "completed_at", "key_shredded_at", "expires_at")
_PARTICIPANT_TIME_FIELDS = ("last_attempt_at", "next_attempt_at", "done_at")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


@dataclass
class Saga:
    request_id: str
    tenant_id: str
    subject_id: str
    requested_by: str
    requester_roles: tuple[str, ...]
    requested_at: datetime
    deadline: datetime
    participants: dict[str, Participant]
    status: str = "requested"
    reason: str | None = None
    completed_at: datetime | None = None
    reminders_sent: list[int] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    policy: SagaPolicy = field(default_factory=SagaPolicy, repr=False, compare=False)

    KIND: ClassVar[str] = ""
    RUNNING: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def start(
        cls,
        request_id: str,
        tenant_id: str,
        subject_id: str,
        requested_by: str,
        requester_roles: Iterable[str],
        requested_at: datetime,
        participants: Sequence[str],
        policy: SagaPolicy | None = None,
    ) -> Self:
        """A new saga in status `requested`; its deadline is fixed now: requested_at + 30 days."""
        if requested_at.tzinfo is None:
            raise SagaError("saga times must be timezone-aware (UTC)")
        if not participants or len(set(participants)) != len(participants):
            raise SagaError("a saga needs a non-empty list of distinct participants")
        return cls(
            str(request_id),
            str(tenant_id),
            str(subject_id),
            str(requested_by),
            tuple(requester_roles),
            requested_at,
            requested_at + DEADLINE,
            {name: Participant(name) for name in participants},
            policy=policy or SagaPolicy(),
        )

    @property
    def key(self) -> str:
        """Unique among running sagas: a second request for the same subject is a duplicate."""
        return f"{self.KIND}:{self.tenant_id}:{self.subject_id}"

    @property
    def active(self) -> bool:
        return self.status in self.RUNNING

    def review(self, legal_holds: Iterable[str], now: datetime) -> None:
        """Check the requester's authority (and, for erasure, legal holds); approve or stop."""
        if self.status != "requested":
            return
        if (
            self.requested_by != self.subject_id
            and not set(self.requester_roles) & self.policy.authorised_roles
        ):
            self.status, self.reason, self.completed_at = (
                "rejected",
                "requester may not act for this subject",
                now,
            )
        else:
            self._approve(list(legal_holds), now)

    def _approve(self, legal_holds: list[str], now: datetime) -> None:
        raise NotImplementedError

    def on_failure(
        self, participant: str, error: str, now: datetime, attempt: int | None = None
    ) -> bool:
        """Record a failed attempt and schedule the retry; stale or duplicate reports are
        ignored."""
        p = self._participant(participant)
        if p.step != AWAITING or (attempt is not None and attempt != p.attempts):
            return False
        self._fail(p, str(error), now)
        return True

    def _fail(self, p: Participant, error: str, at: datetime) -> None:
        p.failures += 1
        p.step, p.last_error = RETRYING, error
        p.next_attempt_at = at + self.policy.backoff(p.failures)

    def _mark_done(self, participant: str, now: datetime) -> bool:
        p = self._participant(participant)
        if p.step == DONE:
            return False
        p.step, p.done_at, p.next_attempt_at = DONE, now, None
        return True

    def _participant(self, name: str) -> Participant:
        try:
            return self.participants[name]
        except KeyError:
            raise SagaError(
                f"{name!r} is not a participant of {self.KIND} request {self.request_id}"
            ) from None

    def _dispatch(self, now: datetime, make_action) -> list:
        actions = []
        timeout = self.policy.receipt_timeout
        for p in self.participants.values():
            if p.step == AWAITING and now >= p.last_attempt_at + timeout:
                self._fail(p, f"no answer within {timeout}", p.last_attempt_at + timeout)
            if p.step == PENDING or (p.step == RETRYING and now >= p.next_attempt_at):
                p.attempts += 1
                p.step, p.last_attempt_at, p.next_attempt_at = AWAITING, now, None
                actions.append(make_action(p.name, p.attempts))
        return actions

    def _deadline_actions(self, now: datetime) -> list:
        actions: list = []
        left = self.deadline - now
        open_names = tuple(p.name for p in self.participants.values() if p.step != DONE)
        due = [
            d
            for d in self.policy.reminder_days_left
            if left <= timedelta(days=d) and d not in self.reminders_sent
        ]
        if due:
            self.reminders_sent.extend(sorted(due, reverse=True))
            if left > timedelta(days=self.policy.escalate_days_left):
                actions.append(EmitReminder(min(due), self.deadline))
        for reason, reached in (
            ("deadline_near", left <= timedelta(days=self.policy.escalate_days_left)),
            ("deadline_passed", left <= timedelta(0)),
        ):
            if reached and reason not in self.escalations:
                self.escalations.append(reason)
                actions.append(Escalate(reason, open_names, self.deadline))
        for p in self.participants.values():
            if (
                p.step != DONE
                and not p.escalated
                and p.failures >= self.policy.escalate_after_failures
            ):
                p.escalated = True
                self.escalations.append(f"participant_failing:{p.name}")
                actions.append(Escalate("participant_failing", (p.name,), self.deadline))
        return actions

    def next_wakeup(self) -> datetime | None:
        """The earliest time at which next_actions may have something new to do."""
        if not self.active:
            return None
        if all(p.step == DONE for p in self.participants.values()):
            return max(
                p.done_at for p in self.participants.values()
            )  # completion/assembly is due now
        times = [
            self.deadline - timedelta(days=d)
            for d in self.policy.reminder_days_left
            if d not in self.reminders_sent
        ]
        times += [self.deadline - timedelta(days=self.policy.escalate_days_left), self.deadline]
        for p in self.participants.values():
            if p.step == AWAITING:
                times.append(p.last_attempt_at + self.policy.receipt_timeout)
            elif p.step in (PENDING, RETRYING):
                times.append(p.next_attempt_at or self.requested_at)
        return min(times)

    def status_view(self) -> dict[str, Any]:
        view = self.to_dict()
        view.pop("format")
        view.pop("requested_by")
        view.pop("requester_roles")
        view["participants"] = [
            {k: v for k, v in p.items() if k != "escalated"} for p in view["participants"].values()
        ]
        return view

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("policy")
        data["type"], data["format"] = self.KIND, 1
        data["requester_roles"] = list(self.requester_roles)
        for name in _TIME_FIELDS:
            if name in data:
                data[name] = _iso(data[name])
        for p in data["participants"].values():
            for name in _PARTICIPANT_TIME_FIELDS:
                p[name] = _iso(p[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], policy: SagaPolicy | None = None) -> Self:
        if data.get("type") != cls.KIND or data.get("format") != 1:
            raise SagaError(
                f"not a format-1 {cls.KIND} saga: {data.get('type')!r} / {data.get('format')!r}"
            )
        values = {k: v for k, v in data.items() if k not in ("type", "format")}
        for name in _TIME_FIELDS:
            if name in values:
                values[name] = _parse(values[name])
        values["requester_roles"] = tuple(values["requester_roles"])
        values["participants"] = {
            name: Participant(
                **{k: _parse(v) if k in _PARTICIPANT_TIME_FIELDS else v for k, v in p.items()}
            )
            for name, p in values["participants"].items()
        }
        return cls(**values, policy=policy or SagaPolicy())
