"""Pure SLA computation for tickets: business calendars, policies, clocks and alert timers."""

from .business_time import BusinessCalendar
from .clocks import (
    EMPTY_HISTORY,
    SlaHistory,
    SlaTimer,
    breach_instant,
    fold_sla,
    next_sla_timers,
    recorded_sla_alerts,
    sla_history,
    sla_status,
)
from .policy import DEFAULT_TARGETS, FIRST_RESPONSE, RESOLUTION, SlaPolicy, default_policy

__all__ = [
    "EMPTY_HISTORY",
    "SlaHistory",
    "fold_sla",
    "sla_history",
    "DEFAULT_TARGETS",
    "FIRST_RESPONSE",
    "RESOLUTION",
    "BusinessCalendar",
    "SlaPolicy",
    "SlaTimer",
    "breach_instant",
    "default_policy",
    "next_sla_timers",
    "recorded_sla_alerts",
    "sla_status",
]
