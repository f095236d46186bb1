"""Commands the ticketing domain decides on; each names its actor, every field is a keyword.

`None` on an optional field of an update-style command means "leave unchanged".
Ids (ticket, comment, user, group) are UUIDs; people named must be members of the tenant
(see people.py), which the service's projection of identity's members tells `decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .model import Actor
from .priority import MEDIUM


@dataclass(frozen=True, kw_only=True)
class OpenTicket:
    """`requester_id` defaults to the actor; opening for someone else needs agent or admin."""

    actor: Actor
    ticket_id: str
    type: str
    title: str
    description: str = ""
    urgency: str = MEDIUM
    impact: str = MEDIUM
    critical: bool = False
    category: str | None = None
    requester_id: str | None = None
    watchers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    # custom field values (domain/fields.py) and an integrator's id, unique per tenant
    fields: Mapping[str, object] = field(default_factory=dict)
    external_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetFields:
    """Set custom field values (key -> value; None clears one), checked against the tenant's
    definitions."""

    actor: Actor
    fields: Mapping[str, object] = field(default_factory=dict)
    # after a change of type: every field the new type requires must then have a value
    complete: bool = False


@dataclass(frozen=True, kw_only=True)
class UpdateTicket:
    """Requesters may change title and description of their own ticket; type and category are
    staff's."""

    actor: Actor
    title: str | None = None
    description: str | None = None
    category: str | None = None
    type: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetPriority:
    """`critical=True` sets the override, `critical=False` clears it, `None` leaves it."""

    actor: Actor
    urgency: str | None = None
    impact: str | None = None
    critical: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Transition:
    """`reason` is required for (and only accepted by) a move to pending; `note` is free text."""

    actor: Actor
    to: str
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddComment:
    actor: Actor
    comment_id: str
    body: str
    internal: bool = False


@dataclass(frozen=True, kw_only=True)
class EditComment:
    actor: Actor
    comment_id: str
    body: str


@dataclass(frozen=True, kw_only=True)
class AssignTicket:
    """Sets both the agent and the group (None unassigns). The service checks the agent's role."""

    actor: Actor
    assignee_id: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddWatcher:
    actor: Actor
    user_id: str


@dataclass(frozen=True, kw_only=True)
class RemoveWatcher:
    actor: Actor
    user_id: str


@dataclass(frozen=True, kw_only=True)
class ChangeWatchers:
    """Add and remove watchers at once (a PATCH of the whole list): one event whatever its size."""

    actor: Actor
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class TagTicket:
    actor: Actor
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class LinkTicket:
    """`mirrored=True` marks the inverse link a process manager records on the other stream."""

    actor: Actor
    kind: str
    other_id: str
    mirrored: bool = False


@dataclass(frozen=True, kw_only=True)
class UnlinkTicket:
    actor: Actor
    kind: str
    other_id: str
    mirrored: bool = False


@dataclass(frozen=True, kw_only=True)
class ResolveWithParent:
    """Issued by the process manager for each of `children_to_resolve(parent)`; a no-op when
    moot."""

    actor: Actor
    parent_id: str


@dataclass(frozen=True, kw_only=True)
class RectifyPersonalText:
    """Privacy's rectification: replace the title, the description or a comment body, in any status.

    `field` is "title", "description" or "comment" (then `comment_id` names it).
    """

    actor: Actor
    field: str
    value: str
    comment_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordSlaAlert:
    """Record an SLA warning or breach found by `next_sla_timers`; idempotent per alert identity.

    `kind` is "warning" or "breach", `target` "first_response" or "resolution", `at` the instant
    the alert became due, `due_at` the target's deadline, `target_minutes` the target's length.
    """

    actor: Actor
    kind: str
    target: str
    at: datetime
    due_at: datetime
    target_minutes: int
    round: int = 0


@dataclass(frozen=True, kw_only=True)
class RecordSlaEscalation:
    """Take one escalation action of an SLA policy on a warning or breach just recorded (see
    `sla.escalations_due`); idempotent per escalation identity (model.SlaEscalation).

    `action` is "notify_group" (the event is the notice: to `group_id`, else the ticket's
    group), "reassign" (to `group_id`, the assignee released) or "raise_priority" (one step
    up the matrix; `critical` above high). `reason` names what set it off (a slug).
    """

    actor: Actor
    policy_id: str
    target: str
    level: str
    action: str
    round: int = 0
    group_id: str | None = None
    reason: str
    target_minutes: int
    due_at: datetime


@dataclass(frozen=True, kw_only=True)
class AddAttachment:
    """Record a file stored for the ticket (the service stored its encrypted bytes first).

    `comment_id` names the comment it rides on (its `comment_internal` then hides it from
    requesters); `file_name` is the uploader's personal data; `content_type` is what the
    bytes were found to be, `scan` the scanner's verdict (clean, infected, not_scanned)."""

    actor: Actor
    attachment_id: str
    file_name: str
    size: int
    content_type: str
    scan: str
    comment_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemoveAttachment:
    """Remove a file: its uploader (`uploaded_by`, as recorded) or an agent or admin; its
    `file_name` (the uploader's personal data) is named in the event, sealed."""

    actor: Actor
    attachment_id: str
    uploaded_by: str
    file_name: str | None = None
