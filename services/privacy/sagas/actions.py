"""What a saga asks its driver to do (the actions), and the timing policy it follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SagaPolicy:
    retry_base: timedelta = timedelta(minutes=1)
    retry_cap: timedelta = timedelta(hours=6)
    receipt_timeout: timedelta = timedelta(hours=1)
    escalate_after_failures: int = 5
    reminder_days_left: tuple[int, ...] = (7, 3)
    escalate_days_left: int = 1
    bundle_ttl: timedelta = timedelta(days=7)
    authorised_roles: frozenset[str] = frozenset({"privacy_officer"})

    def backoff(self, failures: int) -> timedelta:
        """Delay before the next attempt after `failures` failures: base, 2*base, 4*base ... up to
        cap."""
        # The exponent is bounded because timedelta overflows long before a month of retries ends.
        return min(self.retry_cap, self.retry_base * 2 ** min(max(failures - 1, 0), 30))


@dataclass(frozen=True)
class ReviewRequest:
    """Look up the subject's legal holds and call `review(legal_holds, now)`."""


@dataclass(frozen=True)
class ShredKey:
    tenant_id: str
    subject_id: str


@dataclass(frozen=True)
class SendPurge:
    participant: str
    attempt: int


@dataclass(frozen=True)
class SendRectification:
    participant: str
    attempt: int


@dataclass(frozen=True)
class RequestExport:
    participant: str
    attempt: int


@dataclass(frozen=True)
class EmitReminder:
    days_left: int
    deadline: datetime


@dataclass(frozen=True)
class Escalate:
    reason: str  # deadline_near | deadline_passed | participant_failing
    participants: tuple[str, ...]
    deadline: datetime


@dataclass(frozen=True)
class Complete:
    request_id: str


@dataclass(frozen=True)
class AssembleBundle:
    participants: tuple[str, ...]


@dataclass(frozen=True)
class ExpireBundle:
    request_id: str
