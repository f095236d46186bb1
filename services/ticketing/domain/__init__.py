"""The pure ticketing domain: commands in, events out, state folded from events; stdlib only.

    decide(state, command, now) -> list[NewEvent]   business rules; raises TicketingError
    evolve(state, event) -> Ticket                   folds one RecordedEvent
    replay(events) -> Ticket | None                  folds a whole stream

Module map: model (types, event names), commands, lifecycle (transition table), priority
(urgency x impact matrix), permissions, people (who a command names), links (and their
mirroring), validation (field checks and list bounds), queries, errors.
"""

from .commands import (
    AddAttachment,
    AddComment,
    AddWatcher,
    AssignTicket,
    ChangeWatchers,
    EditComment,
    LinkTicket,
    OpenTicket,
    RecordSlaAlert,
    RectifyPersonalText,
    RemoveAttachment,
    RemoveWatcher,
    ResolveWithParent,
    SetPriority,
    TagTicket,
    Transition,
    UnlinkTicket,
    UpdateTicket,
)
from .decide import decide
from .errors import (
    InvalidTransition,
    NotPermitted,
    TicketAlreadyExists,
    TicketClosed,
    TicketingError,
    TicketNotFound,
    ValidationFailed,
)
from .evolve import evolve, replay
from .lifecycle import (
    ACTIVE,
    ALLOWED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    NEW,
    OPEN,
    PENDING,
    PENDING_REASONS,
    REQUESTER_TRANSITIONS,
    RESOLVED,
    STATUSES,
    TERMINAL,
)
from .links import INVERSE, LINK_KINDS, mirror_command
from .model import (
    ERASED,
    EVENT_TYPES,
    SCAN_VERDICTS,
    SLA_TARGETS,
    TICKET_TYPES,
    Actor,
    Comment,
    Link,
    NewEvent,
    RecordedEvent,
    SlaAlert,
    Ticket,
)
from .people import named_people
from .permissions import can_view, is_requester
from .priority import CRITICAL, LEVELS, MATRIX, PRIORITIES, priority_for
from .queries import children_to_resolve, parent_of, visible_comments

__all__ = [
    "ACTIVE",
    "ALLOWED",
    "CANCELLED",
    "CLOSED",
    "CRITICAL",
    "ERASED",
    "EVENT_TYPES",
    "IN_PROGRESS",
    "INVERSE",
    "LEVELS",
    "LINK_KINDS",
    "MATRIX",
    "NEW",
    "OPEN",
    "PENDING",
    "PENDING_REASONS",
    "PRIORITIES",
    "REQUESTER_TRANSITIONS",
    "RESOLVED",
    "SCAN_VERDICTS",
    "SLA_TARGETS",
    "STATUSES",
    "TERMINAL",
    "TICKET_TYPES",
    "Actor",
    "AddAttachment",
    "AddComment",
    "AddWatcher",
    "AssignTicket",
    "ChangeWatchers",
    "Comment",
    "EditComment",
    "NotPermitted",
    "InvalidTransition",
    "Link",
    "LinkTicket",
    "NewEvent",
    "OpenTicket",
    "RecordSlaAlert",
    "RecordedEvent",
    "RectifyPersonalText",
    "RemoveAttachment",
    "RemoveWatcher",
    "ResolveWithParent",
    "SetPriority",
    "SlaAlert",
    "TagTicket",
    "Ticket",
    "TicketAlreadyExists",
    "TicketClosed",
    "TicketNotFound",
    "TicketingError",
    "Transition",
    "UnlinkTicket",
    "UpdateTicket",
    "ValidationFailed",
    "can_view",
    "children_to_resolve",
    "decide",
    "evolve",
    "is_requester",
    "mirror_command",
    "named_people",
    "parent_of",
    "priority_for",
    "replay",
    "visible_comments",
]
