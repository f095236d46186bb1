"""SLA policies: which tickets a policy applies to, its business calendar, its targets per
priority and the escalation actions it takes on a warning or a breach.

Default policy (business minutes, Monday-Friday 09:00-17:00 in the tenant's zone, 75% warning):

    priority  | first response     | resolution                  | next response
    ----------+--------------------+-----------------------------+--------------
    critical  |  15 (15 min)       |  240 (4 business hours)     | none
    high      |  60 (1 hour)       |  480 (1 business day)       | none
    medium    | 240 (4 hours)      | 1440 (3 business days)      | none
    low       | 480 (1 day)        | 2400 (5 business days)      | none

Targets count business time only: a critical ticket opened on Friday evening is due on Monday
morning under this policy. A tenant that staffs critical incidents around the clock uses a
policy whose calendar is `BusinessCalendar.always_open(...)`.

A tenant keeps one default policy and an ordered list of conditional ones (`SlaPolicies`): the
first whose `match` fits the ticket as it is now applies, else the default. Like a priority
change, a change of the ticket (its type, group, fields) that makes another policy apply
applies that policy to all the time elapsed so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from services.ticketing.domain import PRIORITIES, SLA_TARGETS, SlaEscalation

from .business_time import BusinessCalendar

FIRST_RESPONSE, RESOLUTION, NEXT_RESPONSE = SLA_TARGETS
DEFAULT_POLICY_ID = "default"
LEVELS = ("warning", "breach")
ACTIONS = ("notify_group", "reassign", "raise_priority")

DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    "critical": (15, 240),
    "high": (60, 480),
    "medium": (240, 1440),
    "low": (480, 2400),
}
DEFAULT_WARNING_RATIO = 0.75


@dataclass(frozen=True)
class SlaMatch:
    """Which tickets a policy applies to; every condition given must hold, an empty one always
    holds. `fields` maps a custom field key to the value it must have (or a list of values)."""

    types: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("types", "priorities", "group_ids"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        unknown = self.priorities - set(PRIORITIES)
        if unknown:
            raise ValueError(f"unknown priorities: {', '.join(sorted(unknown))}")

    def matches(self, ticket: object) -> bool:
        """`ticket`: anything with type, priority and group_id (a Ticket, a read-model row as a
        namespace); its `fields` (custom fields) when it has them, else none."""
        if self.types and getattr(ticket, "type", None) not in self.types:
            return False
        if self.priorities and getattr(ticket, "priority", None) not in self.priorities:
            return False
        if self.group_ids and getattr(ticket, "group_id", None) not in self.group_ids:
            return False
        values = getattr(ticket, "fields", None) or {}
        for key, wanted in self.fields.items():
            allowed = {
                field_text(w)
                for w in (wanted if isinstance(wanted, (list, tuple, frozenset, set)) else [wanted])
            }
            value = values.get(key)
            have = value if isinstance(value, (list, tuple, frozenset, set)) else [value]
            if value is None or not allowed & {field_text(v) for v in have}:
                return False
        return True


def field_text(value: Any) -> str:
    """A custom field's value as a match compares it: booleans as true/false, else its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Escalation:
    """An action taken when a clock of the policy reaches `on` ("warning" or "breach"); for
    every target, or only `target`. `group_id`: whom notify_group tells (default: the ticket's
    group) and where reassign moves the ticket (required there)."""

    on: str
    action: str
    target: str | None = None
    group_id: str | None = None

    def __post_init__(self) -> None:
        if self.on not in LEVELS:
            raise ValueError(f"an escalation is on one of {', '.join(LEVELS)}")
        if self.action not in ACTIONS:
            raise ValueError(f"an escalation action is one of {', '.join(ACTIONS)}")
        if self.target is not None and self.target not in SLA_TARGETS:
            raise ValueError(f"an escalation target is one of {', '.join(SLA_TARGETS)}")
        if self.action == "reassign" and not self.group_id:
            raise ValueError("a reassign escalation names its group_id")


@dataclass(frozen=True)
class SlaPolicy:
    """`targets` maps each priority to (first_response, resolution[, next_response]) minutes of
    business time; a next response of None (or left out) runs no next-response clock."""

    calendar: BusinessCalendar
    targets: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    warning_ratio: float = DEFAULT_WARNING_RATIO
    policy_id: str = DEFAULT_POLICY_ID
    match: SlaMatch = field(default_factory=SlaMatch)
    escalations: tuple[Escalation, ...] = ()

    def __post_init__(self) -> None:
        missing = set(PRIORITIES) - set(self.targets)
        if missing:
            raise ValueError(f"SLA targets missing for priorities: {', '.join(sorted(missing))}")
        for priority, minutes in self.targets.items():
            if len(minutes) not in (2, 3) or any(
                not isinstance(m, int) or m <= 0 for m in minutes[:2]
            ):
                raise ValueError(f"targets for {priority} must be two positive whole minutes")
            if (
                len(minutes) == 3
                and minutes[2] is not None
                and (not isinstance(minutes[2], int) or minutes[2] <= 0)
            ):
                raise ValueError(f"the next response target for {priority} must be positive")
        if not 0 < self.warning_ratio < 1:
            raise ValueError("warning_ratio must be between 0 and 1")
        object.__setattr__(self, "escalations", tuple(self.escalations))

    def target_minutes(self, priority: str, target: str) -> int | None:
        """The target's length for a priority; None for a next response the policy does not
        set."""
        minutes = self.targets[priority]
        index = SLA_TARGETS.index(target)
        return minutes[index] if index < len(minutes) else None

    def targets_for(self, priority: str) -> tuple[str, ...]:
        """The targets whose clocks run under this policy for a priority."""
        return tuple(t for t in SLA_TARGETS if self.target_minutes(priority, t) is not None)


@dataclass(frozen=True)
class SlaPolicies:
    """A tenant's policies: the ordered conditional ones, and the default for the rest."""

    default: SlaPolicy
    conditional: tuple[SlaPolicy, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "conditional", tuple(self.conditional))
        ids = [policy.policy_id for policy in self.conditional]
        if DEFAULT_POLICY_ID in ids:
            raise ValueError(f"{DEFAULT_POLICY_ID!r} names the default policy")
        if len(set(ids)) != len(ids):
            raise ValueError("policy ids must be unique")

    def for_ticket(self, ticket: object) -> SlaPolicy:
        """The first conditional policy matching the ticket as it is now, else the default."""
        return next((p for p in self.conditional if p.match.matches(ticket)), self.default)


class EscalationStep(NamedTuple):
    """One escalation action due now, what RecordSlaEscalation records."""

    policy_id: str
    target: str
    level: str
    action: str
    round: int
    group_id: str | None
    reason: str
    target_minutes: int
    due_at: datetime


def escalation_steps(
    policy: SlaPolicy, alerts: Iterable[Any], taken: frozenset[SlaEscalation] = frozenset()
) -> list[EscalationStep]:
    """The policy's escalation actions set off by the alerts being recorded now (SlaTimers
    that are due: kind "warning" or "breach", target, round), in the policy's order, leaving
    out those already taken on the ticket (the same policy, target, level, action, round)."""
    steps = []
    for alert in alerts:
        for rule in policy.escalations:
            if rule.on != alert.kind or rule.target not in (None, alert.target):
                continue
            step = EscalationStep(
                policy.policy_id,
                alert.target,
                alert.kind,
                rule.action,
                alert.round,
                rule.group_id,
                f"{alert.target}_{'warned' if alert.kind == 'warning' else 'breached'}",
                alert.target_minutes,
                alert.due_at,
            )
            identity = SlaEscalation(*step[:5])
            if identity not in taken and identity not in {SlaEscalation(*s[:5]) for s in steps}:
                steps.append(step)
    return steps


def default_policy(timezone: str = "UTC") -> SlaPolicy:
    return SlaPolicy(BusinessCalendar.weekdays(timezone))


def default_policies(timezone: str = "UTC") -> SlaPolicies:
    return SlaPolicies(default_policy(timezone))
