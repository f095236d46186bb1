"""Routing: which group (and agent) a ticket goes to, and releasing an agent's assignments.

    first_match(rules, state) -> (index, rule) | None   the first rule whose `when` holds
    choose(strategy, members, loads, last) -> id | None  the agent a strategy picks
    RouteTicket / ReleaseAssignment                       system commands decided on a ticket

Rules:
- Routing rules are an ordered list (the tenant's document); the first rule whose every given
  condition holds wins: `type`, `category`, `priority` equal the ticket's, and each of `fields`
  equals the ticket's custom field of that key (compared as text; a ticket without custom
  fields matches no `fields` condition). A rule with no condition matches every ticket.
- Rules apply when a ticket opens and when its category changes; a ticket already in the rule's
  group is left as it is.
- `round_robin` gives the next member after the group's cursor (the member it last picked) in
  id order, wrapping around; `least_loaded` the member with the fewest active tickets assigned,
  ties broken by the smallest id. A group with no member left routes the ticket to the group,
  unassigned (reason `no_member`).
- A routing decision is a `ticket_routed` event (rule index, group, assignee, strategy, trigger,
  reason) followed by the `ticket_assigned` it causes, both with the system as actor.
- A person's own assignment stands: a change that assigns the ticket in the same command (a PATCH
  of category and group together) is not routed.
- AI triage (opt-in per tenant, `ai_triage: {enabled, min_confidence}` in the routing document):
  a suggestion at or above the tenant's confidence sets the category of a ticket that has none
  and no group yet (`ticket_updated` with `source: ai_triage` and the confidence, by the
  system), which routes it like any category change (trigger `ai_triage`). Below the
  confidence, or once a person or a rule has decided, a suggestion changes nothing.
- Releasing an agent's assignment (they left the group or the tenant, or were erased) is a
  `ticket_assigned` to nobody in the same group with that reason; a no-op when the ticket is no
  longer theirs or is closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import lifecycle as lc
from .errors import NotPermitted, TicketClosed, ValidationFailed
from .model import TICKET_ASSIGNED, TICKET_ROUTED, TICKET_UPDATED, Actor, NewEvent, Ticket
from .validation import clean_category, clean_choice, clean_id, clean_optional_id

ROUND_ROBIN, LEAST_LOADED = "round_robin", "least_loaded"
STRATEGIES = (ROUND_ROBIN, LEAST_LOADED)
OPENED, CATEGORY_CHANGED, AI_TRIAGE = "opened", "category_changed", "ai_triage"
TRIGGERS = (OPENED, CATEGORY_CHANGED, AI_TRIAGE)
RULE_MATCHED, NO_MEMBER = "rule_matched", "no_member"
ROUTED_REASONS = (RULE_MATCHED, NO_MEMBER)
# why a ticket_assigned happened without a person deciding it
ROUTED = "routed"
RELEASE_REASONS = ("left_group", "left_tenant", "erased")
ASSIGNMENT_REASONS = (ROUTED, *RELEASE_REASONS)
RULES_MAX = 100


@dataclass(frozen=True)
class Condition:
    type: str | None = None
    category: str | None = None
    priority: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RoutingRule:
    when: Condition
    group_id: str
    strategy: str = ROUND_ROBIN


@dataclass(frozen=True, kw_only=True)
class RouteTicket:
    actor: Actor
    rule: int
    group_id: str
    assignee_id: str | None
    strategy: str
    trigger: str
    reason: str = RULE_MATCHED


@dataclass(frozen=True, kw_only=True)
class ApplyTriage:
    """The AI's suggested category, with its confidence and the tenant's threshold."""

    actor: Actor
    category: str
    confidence: float
    min_confidence: float


@dataclass(frozen=True, kw_only=True)
class ReleaseAssignment:
    """Unassign `user_id` from the ticket (kept in its group), with one of RELEASE_REASONS."""

    actor: Actor
    user_id: str
    reason: str


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def matches(condition: Condition, state: Ticket) -> bool:
    for name in ("type", "category", "priority"):
        wanted = getattr(condition, name)
        if wanted is not None and getattr(state, name) != wanted:
            return False
    values = getattr(state, "fields", None) or {}
    return all(key in values and _text(values[key]) == value for key, value in condition.fields)


def first_match(rules: Sequence[RoutingRule], state: Ticket) -> tuple[int, RoutingRule] | None:
    return next(
        ((index, rule) for index, rule in enumerate(rules) if matches(rule.when, state)), None
    )


def choose(
    strategy: str,
    members: frozenset[str] | Sequence[str],
    loads: Mapping[str, int],
    last: str | None,
) -> str | None:
    """The member the strategy picks; None for a group without members."""
    ordered = sorted(members)
    if not ordered:
        return None
    if strategy == ROUND_ROBIN:
        return next((m for m in ordered if last is not None and m > last), ordered[0])
    if strategy == LEAST_LOADED:
        return min(ordered, key=lambda m: (loads.get(m, 0), m))
    raise ValueError(f"not a routing strategy: {strategy}")


def decide_route(state: Ticket, cmd: RouteTicket, now: datetime) -> list[NewEvent]:
    if not cmd.actor.is_system:
        raise NotPermitted("only the service routes tickets")
    if state.status in lc.TERMINAL:
        raise TicketClosed(state.ticket_id, state.status)
    group_id = clean_id("group_id", cmd.group_id)
    assignee_id = clean_optional_id("assignee_id", cmd.assignee_id)
    strategy = clean_choice("strategy", cmd.strategy, STRATEGIES)
    trigger = clean_choice("trigger", cmd.trigger, TRIGGERS)
    reason = clean_choice("reason", cmd.reason, ROUTED_REASONS)
    if not isinstance(cmd.rule, int) or cmd.rule < 0:
        raise ValidationFailed("rule", "must be a rule's index")
    if state.group_id == group_id:
        return []
    routed = {
        "rule": cmd.rule,
        "group_id": group_id,
        "assignee_id": assignee_id,
        "strategy": strategy,
        "trigger": trigger,
        "reason": reason,
    }
    assigned = {
        "assignee_id": assignee_id,
        "group_id": group_id,
        "previous_assignee_id": state.assignee_id,
        "previous_group_id": state.group_id,
        "reason": ROUTED,
    }
    return [NewEvent(TICKET_ROUTED, routed, {}), NewEvent(TICKET_ASSIGNED, assigned, {})]


def decide_release(state: Ticket, cmd: ReleaseAssignment, now: datetime) -> list[NewEvent]:
    if not cmd.actor.is_system:
        raise NotPermitted("only the service releases assignments")
    reason = clean_choice("reason", cmd.reason, RELEASE_REASONS)
    user_id = clean_id("user_id", cmd.user_id)
    if state.status in lc.TERMINAL or state.assignee_id != user_id:
        return []
    data = {
        "assignee_id": None,
        "group_id": state.group_id,
        "previous_assignee_id": state.assignee_id,
        "previous_group_id": state.group_id,
        "reason": reason,
    }
    return [NewEvent(TICKET_ASSIGNED, data, {})]


def decide_triage(state: Ticket, cmd: ApplyTriage, now: datetime) -> list[NewEvent]:
    if not cmd.actor.is_system:
        raise NotPermitted("only the service applies AI triage")
    category = clean_category(cmd.category)
    if not isinstance(cmd.confidence, int | float) or not 0 <= cmd.confidence <= 1:
        raise ValidationFailed("confidence", "must be from 0 to 1")
    if (
        state.status in lc.TERMINAL
        or state.category is not None
        or state.group_id is not None
        or cmd.confidence < cmd.min_confidence
    ):
        return []
    data = {
        "fields": ["category"],
        "category": category,
        "source": AI_TRIAGE,
        "confidence": round(float(cmd.confidence), 4),
    }
    return [NewEvent(TICKET_UPDATED, data, {})]
