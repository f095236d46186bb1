"""The erasure saga: review, shred the subject key, then every participant purges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.privacy.sagas.actions import Complete, ReviewRequest, SendPurge, ShredKey
from services.privacy.sagas.base import DONE, Saga


@dataclass
class ErasureSaga(Saga):
    """requested -> shredding -> purging -> completed; or blocked (legal hold) / rejected."""

    key_shredded_at: datetime | None = None

    KIND: ClassVar[str] = "erasure"
    RUNNING: ClassVar[frozenset[str]] = frozenset({"requested", "shredding", "purging"})

    def _approve(self, legal_holds: list[str], now: datetime) -> None:
        if legal_holds:
            self.status, self.completed_at = "blocked", now
            self.reason = "legal hold: " + "; ".join(legal_holds)
        else:
            self.status = "shredding"

    def on_key_shredded(self, now: datetime) -> None:
        """The point of no return has been passed: the subject key is gone."""
        if self.status != "shredding":
            return
        self.status, self.key_shredded_at = "purging", now

    def on_receipt(self, participant: str, now: datetime) -> bool:
        """A participant confirms its purge; True if this changed anything."""
        return self._mark_done(participant, now)

    def next_actions(self, now: datetime) -> list:
        if self.status == "requested":
            return [ReviewRequest()]
        if self.status == "shredding":
            return [ShredKey(self.tenant_id, self.subject_id), *self._deadline_actions(now)]
        if self.status != "purging":
            return []
        if all(p.step == DONE for p in self.participants.values()):
            self.status, self.completed_at = "completed", now
            return [Complete(self.request_id)]
        return self._dispatch(now, SendPurge) + self._deadline_actions(now)
