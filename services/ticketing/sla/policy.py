"""SLA policies: a business calendar and, per priority, first-response and resolution targets.

Default policy (business minutes, Monday-Friday 09:00-17:00 in the tenant's zone, 75% warning):

    priority  | first response     | resolution
    ----------+--------------------+-----------------------------
    critical  |  15 (15 min)       |  240 (4 business hours)
    high      |  60 (1 hour)       |  480 (1 business day)
    medium    | 240 (4 hours)      | 1440 (3 business days)
    low       | 480 (1 day)        | 2400 (5 business days)

Targets count business time only: a critical ticket opened on Friday evening is due on Monday
morning under this policy. A tenant that staffs critical incidents around the clock uses a
policy whose calendar is `BusinessCalendar.always_open(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.ticketing.domain import PRIORITIES, SLA_TARGETS

from .business_time import BusinessCalendar

FIRST_RESPONSE, RESOLUTION = SLA_TARGETS

DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    "critical": (15, 240),
    "high": (60, 480),
    "medium": (240, 1440),
    "low": (480, 2400),
}
DEFAULT_WARNING_RATIO = 0.75


@dataclass(frozen=True)
class SlaPolicy:
    """`targets` maps each priority to (first_response_minutes, resolution_minutes) of business
    time."""

    calendar: BusinessCalendar
    targets: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    warning_ratio: float = DEFAULT_WARNING_RATIO

    def __post_init__(self) -> None:
        missing = set(PRIORITIES) - set(self.targets)
        if missing:
            raise ValueError(f"SLA targets missing for priorities: {', '.join(sorted(missing))}")
        for priority, minutes in self.targets.items():
            if len(minutes) != 2 or any(not isinstance(m, int) or m <= 0 for m in minutes):
                raise ValueError(f"targets for {priority} must be two positive whole minutes")
        if not 0 < self.warning_ratio < 1:
            raise ValueError("warning_ratio must be between 0 and 1")

    def target_minutes(self, priority: str, target: str) -> int:
        return self.targets[priority][SLA_TARGETS.index(target)]


def default_policy(timezone: str = "UTC") -> SlaPolicy:
    return SlaPolicy(BusinessCalendar.weekdays(timezone))
