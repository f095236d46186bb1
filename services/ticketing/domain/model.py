"""Value types of the ticketing domain: actors, events in and out, and the ticket state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

# Same placeholder shared.crypto yields for a field whose subject key was shredded.
ERASED = "[erased]"

INCIDENT, SERVICE_REQUEST, PROBLEM, CHANGE = "incident", "service_request", "problem", "change"
TICKET_TYPES = (INCIDENT, SERVICE_REQUEST, PROBLEM, CHANGE)
# Problem and change management are ITIL practices run by staff, not raised by end users.
REQUESTER_TICKET_TYPES = frozenset({INCIDENT, SERVICE_REQUEST})

STAFF_ROLES = frozenset({"agent", "admin"})
SYSTEM_ROLE = "system"  # never issued in an access token; only the service builds such actors
PRIVACY_OFFICER = "privacy_officer"

# Event types, without the "ticketing." prefix the service adds.
TICKET_OPENED = "ticket_opened"
TICKET_UPDATED = "ticket_updated"
PRIORITY_CHANGED = "priority_changed"
STATUS_CHANGED = "status_changed"
COMMENT_ADDED = "comment_added"
COMMENT_EDITED = "comment_edited"
TICKET_ASSIGNED = "ticket_assigned"
WATCHERS_CHANGED = "watchers_changed"
# one event per watcher before watchers_changed; still folded from older streams
WATCHER_ADDED = "watcher_added"
WATCHER_REMOVED = "watcher_removed"
TAGS_CHANGED = "tags_changed"
TICKET_LINKED = "ticket_linked"
TICKET_UNLINKED = "ticket_unlinked"
SLA_WARNING = "sla_warning"
SLA_BREACHED = "sla_breached"
TICKET_ROUTED = "ticket_routed"  # why routing assigned it (domain/routing.py)
FIELDS_CHANGED = "fields_changed"
SLA_ESCALATED = "sla_escalated"
ATTACHMENT_ADDED = "attachment_added"
ATTACHMENT_REMOVED = "attachment_removed"
SCAN_VERDICTS = ("clean", "infected", "not_scanned")
# change approvals (approvals.py)
CHANGE_PLANNED = "change_planned"
APPROVAL_STAGES_SET = "approval_stages_set"
APPROVAL_RECORDED = "approval_recorded"
EVENT_TYPES = frozenset(
    {
        TICKET_OPENED,
        TICKET_UPDATED,
        PRIORITY_CHANGED,
        STATUS_CHANGED,
        COMMENT_ADDED,
        COMMENT_EDITED,
        TICKET_ASSIGNED,
        WATCHERS_CHANGED,
        TAGS_CHANGED,
        TICKET_LINKED,
        TICKET_UNLINKED,
        SLA_WARNING,
        SLA_BREACHED,
        TICKET_ROUTED,
        FIELDS_CHANGED,
        SLA_ESCALATED,
        ATTACHMENT_ADDED,
        ATTACHMENT_REMOVED,
        CHANGE_PLANNED,
        APPROVAL_STAGES_SET,
        APPROVAL_RECORDED,
    }
)

SLA_TARGETS = ("first_response", "resolution", "next_response")
SLA_ALERT_KINDS = {"warning": SLA_WARNING, "breach": SLA_BREACHED}


@dataclass(frozen=True)
class Actor:
    """Who issues a command: a user with the roles of their access token, a service account (a
    program of the tenant, `service_account`), or the service itself."""

    user_id: str
    roles: frozenset[str] = frozenset()
    service_account: bool = False

    @classmethod
    def system(cls, name: str = "ticketing") -> Actor:
        return cls(f"system:{name}", frozenset({SYSTEM_ROLE}))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_system(self) -> bool:
        return SYSTEM_ROLE in self.roles

    @property
    def is_privileged(self) -> bool:
        """Staff, or the service acting on its own (process managers, SLA timers)."""
        return self.is_staff or self.is_system


@dataclass(frozen=True)
class NewEvent:
    """A fact decided by the domain, not yet stored.

    `data` holds only ids, slugs, timestamps, numbers and flags. `pii` maps a field name to
    `{"subject_id": ..., "value": <plaintext>}`; the service encrypts each value under that
    subject's key before anything is stored or published.
    """

    type: str
    data: dict[str, Any]
    pii: dict[str, dict[str, str]]


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event as the service hands it back: `pii` maps field -> plaintext or ERASED."""

    type: str
    data: dict[str, Any]
    pii: dict[str, str]
    version: int
    occurred_at: datetime
    actor_id: str


def pii_value(subject_id: str, value: str) -> dict[str, str]:
    return {"subject_id": subject_id, "value": value}


@dataclass(frozen=True)
class Comment:
    comment_id: str
    author_id: str
    body: str
    internal: bool
    created_at: datetime
    edited_at: datetime | None = None


class Link(NamedTuple):
    kind: str
    ticket_id: str


class SlaAlert(NamedTuple):
    """Identity of a recorded SLA alert: one per kind, target, target length and round (the
    next_response clock runs once per requester message awaiting an answer: round 1, 2...;
    the other targets are round 0)."""

    kind: str
    target: str
    target_minutes: int
    round: int = 0


class SlaEscalation(NamedTuple):
    """Identity of an escalation action taken: one per policy, target, level, action, round."""

    policy_id: str
    target: str
    level: str
    action: str
    round: int = 0


class ApprovalStage(NamedTuple):
    """One stage of a ticket's approval, as the tenant's policy had it when the ticket became
    subject to it: who may approve (a group, a role, or named people) and how many must."""

    name: str
    approvals_required: int
    approver_group_id: str | None = None
    approver_role: str | None = None
    approver_ids: tuple[str, ...] = ()


class Approval(NamedTuple):
    """One recorded decision on a stage: "approve" or "reject", by whom, when."""

    stage: str
    approver_id: str
    decision: str
    at: datetime


@dataclass(frozen=True)
class Ticket:
    """The state of one ticket stream, rebuilt by folding its events with `evolve`."""

    ticket_id: str
    version: int
    type: str
    title: str
    description: str
    category: str | None
    requester_id: str
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    status: str
    urgency: str
    impact: str
    critical: bool
    priority: str
    pending_reason: str | None = None
    assignee_id: str | None = None
    group_id: str | None = None
    watchers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    links: frozenset[Link] = frozenset()
    comments: tuple[Comment, ...] = ()
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    reopen_count: int = 0
    sla_alerts: frozenset[SlaAlert] = frozenset()
    # custom field values (sealed ones in clear, as the description) and which keys are sealed
    fields: dict[str, Any] = field(default_factory=dict, hash=False)
    sealed_fields: frozenset[str] = frozenset()
    external_id: str | None = None
    sla_escalations: frozenset[SlaEscalation] = frozenset()
    # a change's planned window and risk, and the approval stages it must pass (approvals.py)
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    risk: str | None = None
    approval_stages: tuple[ApprovalStage, ...] = ()
    approvals: tuple[Approval, ...] = ()

    def linked(self, kind: str) -> list[str]:
        return sorted(link.ticket_id for link in self.links if link.kind == kind)

    def comment(self, comment_id: str) -> Comment | None:
        return next((c for c in self.comments if c.comment_id == comment_id), None)
