"""The ticket lifecycle: statuses, the transition table and who may make each move.

    new         -> in_progress | pending | resolved | cancelled
    in_progress -> pending | resolved | cancelled
    pending     -> in_progress | resolved | cancelled
    resolved    -> closed | in_progress (reopen)
    closed, cancelled: terminal

Decisions:
- `new` may go straight to `pending` (e.g. waiting for the requester's details before any work)
  and straight to `resolved` (a fix given at first contact).
- `pending` may go to `resolved` (the awaited party confirms the fix).
- Cancelling means "withdrawn, no work needed", so only the ACTIVE statuses (new, in_progress,
  pending) can be cancelled; a resolved ticket is either accepted (closed) or reopened.
- `closed` and `cancelled` are TERMINAL: no transition leaves them. A ticket is "open" when it is
  not terminal (resolved included): it still takes comments, edits and assignment.
- Moving to `pending` needs a reason from PENDING_REASONS; the resolution SLA clock pauses there.
- Requesters move only their own tickets, and only along REQUESTER_TRANSITIONS: cancel while
  active, accept a resolution (resolved -> closed) or reopen it (resolved -> in_progress).
  Agents, admins and the system make every move of ALLOWED.
"""

from __future__ import annotations

NEW, IN_PROGRESS, PENDING, RESOLVED, CLOSED, CANCELLED = (
    "new",
    "in_progress",
    "pending",
    "resolved",
    "closed",
    "cancelled",
)
STATUSES = (NEW, IN_PROGRESS, PENDING, RESOLVED, CLOSED, CANCELLED)

ALLOWED: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_PROGRESS, PENDING, RESOLVED, CANCELLED}),
    IN_PROGRESS: frozenset({PENDING, RESOLVED, CANCELLED}),
    PENDING: frozenset({IN_PROGRESS, RESOLVED, CANCELLED}),
    RESOLVED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}

TERMINAL = frozenset({CLOSED, CANCELLED})
OPEN = frozenset(STATUSES) - TERMINAL
ACTIVE = frozenset({NEW, IN_PROGRESS, PENDING})

REQUESTER_TRANSITIONS = frozenset(
    {(status, CANCELLED) for status in ACTIVE} | {(RESOLVED, CLOSED), (RESOLVED, IN_PROGRESS)}
)

AWAITING_REQUESTER = "awaiting_requester"
PENDING_REASONS = frozenset(
    {AWAITING_REQUESTER, "awaiting_third_party", "awaiting_change", "awaiting_problem", "scheduled"}
)

# Reasons the domain itself writes on status_changed events it emits on someone's behalf.
REQUESTER_REPLIED = "requester_replied"
PARENT_CLOSED = "parent_closed"


def allowed_targets(status: str) -> list[str]:
    return sorted(ALLOWED[status])
