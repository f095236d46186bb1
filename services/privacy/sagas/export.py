"""The export saga: review, collect every participant's part, assemble the bundle, expire it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.privacy.sagas.actions import (
    AssembleBundle,
    ExpireBundle,
    RequestExport,
    ReviewRequest,
)
from services.privacy.sagas.base import DONE, Saga


@dataclass
class ExportSaga(Saga):
    """requested -> collecting -> assembling -> ready -> expired; or rejected."""

    expires_at: datetime | None = None

    KIND: ClassVar[str] = "export"
    RUNNING: ClassVar[frozenset[str]] = frozenset({"requested", "collecting", "assembling"})

    def _approve(self, legal_holds: list[str], now: datetime) -> None:
        # A legal hold keeps data from being deleted, never from being shown to its subject.
        self.status = "collecting"

    def on_part(self, participant: str, now: datetime) -> bool:
        """A participant's data has been received (and stored encrypted by the service)."""
        changed = self._mark_done(participant, now)
        if self.status == "collecting" and all(p.step == DONE for p in self.participants.values()):
            self.status = "assembling"
        return changed

    def on_assembled(self, now: datetime) -> datetime:
        """The encrypted bundle is stored; returns when it must be deleted."""
        if self.status == "assembling":
            self.status, self.completed_at, self.expires_at = (
                "ready",
                now,
                now + self.policy.bundle_ttl,
            )
        return self.expires_at

    def next_wakeup(self) -> datetime | None:
        return self.expires_at if self.status == "ready" else super().next_wakeup()

    def next_actions(self, now: datetime) -> list:
        if self.status == "requested":
            return [ReviewRequest()]
        if self.status == "collecting":
            return self._dispatch(now, RequestExport) + self._deadline_actions(now)
        if self.status == "assembling":
            return [AssembleBundle(tuple(self.participants)), *self._deadline_actions(now)]
        if self.status == "ready" and now >= self.expires_at:
            self.status = "expired"
            return [ExpireBundle(self.request_id)]
        return []
