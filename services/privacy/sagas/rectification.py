"""The rectification saga: every participant storing names or emails applies the new values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.privacy.sagas.actions import Complete, ReviewRequest, SendRectification
from services.privacy.sagas.base import DONE, Saga


@dataclass
class RectificationSaga(Saga):
    """requested -> rectifying -> completed; or rejected. The changes live sealed beside the
    saga."""

    KIND: ClassVar[str] = "rectification"
    RUNNING: ClassVar[frozenset[str]] = frozenset({"requested", "rectifying"})

    def _approve(self, legal_holds: list[str], now: datetime) -> None:
        # a hold keeps data from being deleted; correcting it is always allowed
        self.status = "rectifying"

    def on_rectified(self, participant: str, now: datetime) -> bool:
        return self._mark_done(participant, now)

    def next_actions(self, now: datetime) -> list:
        if self.status == "requested":
            return [ReviewRequest()]
        if self.status != "rectifying":
            return []
        if all(p.step == DONE for p in self.participants.values()):
            self.status, self.completed_at = "completed", now
            return [Complete(self.request_id)]
        return self._dispatch(now, SendRectification) + self._deadline_actions(now)
