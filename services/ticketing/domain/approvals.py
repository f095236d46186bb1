"""Change approvals: a change's planned window and risk, the stages it must pass, the decisions.

Rules:
- The stages a ticket must pass are the tenant's approval policy for its type, fixed as an
  `approval_stages_set` event when the ticket becomes subject to it: at open, or when its type
  is changed to one with a policy while it has no stages yet. A later policy change does not
  touch tickets already holding stages, and changing the type again does not drop them (no way
  out of approval by retyping). A type without a policy needs no approval.
- Stages are passed in order. The current stage is the first with fewer approvals than it
  requires; only it takes decisions (409 otherwise, naming the current one).
- An approver is eligible for a stage through its group (the service hands the group's
  members to the command), its role, or its list of named people; anyone else gets 403. The
  ticket's requester and whoever opened it may not decide on their own change (403). One
  person decides once per stage (409 on a second decision); they may approve later stages.
- One "reject" rejects the change: its approval state is `rejected` for good (the status is
  left as it is; the change can be cancelled, or reworked as a new change). A reject needs
  a comment saying why; an approve may carry one. The comment is the approver's personal text,
  sealed under their key like a comment body.
- Until every stage is approved, a ticket with stages cannot move to `in_progress` nor to
  `resolved` (409 naming the missing stage, or the stage that rejected it): a change is not
  implemented, nor declared done, without its sign-off. Pending and cancelled stay open to it;
  the requester's reply (pending -> in_progress) and a parent's closure (-> resolved) leave an
  unapproved ticket where it is.
- `planned_start`, `planned_end` (aware instants, end after start) and `risk` (low, medium,
  high, critical) belong to a change only (422 on another type); staff set them on create and
  patch, each change a `change_planned` event. Moving the window leaves recorded approvals as
  they are (the history shows both).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from . import lifecycle as lc
from .errors import NotPermitted, TicketClosed, TicketingError, ValidationFailed
from .model import (
    APPROVAL_RECORDED,
    APPROVAL_STAGES_SET,
    CHANGE,
    CHANGE_PLANNED,
    Actor,
    Approval,
    ApprovalStage,
    NewEvent,
    RecordedEvent,
    Ticket,
    pii_value,
)
from .permissions import require_privileged
from .validation import CATEGORY_PATTERN, clean_choice, clean_ids, clean_text

RISKS = ("low", "medium", "high", "critical")
APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)
APPROVER_ROLES = ("agent", "admin")
NOT_REQUIRED, AWAITING, APPROVED, REJECTED = "not_required", "awaiting", "approved", "rejected"
# the moves an unapproved ticket with stages cannot make
GATED = frozenset({lc.IN_PROGRESS, lc.RESOLVED})
STAGES_MAX, APPROVALS_MAX, APPROVER_IDS_MAX = 10, 20, 50


# errors


class ApprovalConflict(TicketingError):
    """The decision does not fit the approval's state (409): not awaiting, not the current
    stage, or decided already. `stage` names the stage at issue, `current_stage` the current."""

    def __init__(self, message: str, stage: str | None = None, current_stage: str | None = None):
        self.stage, self.current_stage = stage, current_stage
        super().__init__(message)


class UnknownStage(TicketingError):
    def __init__(self, stage: str):
        self.stage = stage
        super().__init__("no such approval stage on this ticket")


class ApprovalRequired(TicketingError):
    """A gated move of a ticket whose approval is missing or rejected (409)."""

    def __init__(self, requested: str, stage: str, state: str):
        self.requested, self.stage, self.state = requested, stage, state
        why = "was rejected at" if state == REJECTED else "still needs the approval of"
        super().__init__(f"cannot move to {requested}: the change {why} stage {stage}")


# commands


@dataclass(frozen=True, kw_only=True)
class PlanChange:
    """Set a change's planned window and risk; `None` leaves a field unchanged."""

    actor: Actor
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    risk: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApplyApprovalPolicy:
    """Fix the stages of the policy for `ticket_type` on the ticket (built by the service from
    the tenant's policy, never from a request body); a no-op unless the ticket is of that type
    and holds no stages yet."""

    actor: Actor
    ticket_type: str
    stages: tuple[ApprovalStage, ...]
    policy_version: int


@dataclass(frozen=True, kw_only=True)
class RecordApproval:
    """An approver's decision on a stage. `group_members`: the members of the stage's approver
    group as the service knows them (None when the stage names no group)."""

    actor: Actor
    stage: str
    decision: str
    comment: str | None = None
    group_members: frozenset[str] | None = None


# queries


def approved_count(state: Ticket, stage: str) -> int:
    return sum(1 for a in state.approvals if a.stage == stage and a.decision == APPROVE)


def rejection(state: Ticket) -> Approval | None:
    return next((a for a in state.approvals if a.decision == REJECT), None)


def current_stage(state: Ticket) -> ApprovalStage | None:
    """The first stage still short of approvals (None: all approved, or no stages)."""
    return next(
        (s for s in state.approval_stages if approved_count(state, s.name) < s.approvals_required),
        None,
    )


def approval_state(state: Ticket) -> str:
    if not state.approval_stages:
        return NOT_REQUIRED
    if rejection(state) is not None:
        return REJECTED
    return AWAITING if current_stage(state) is not None else APPROVED


def blocks(state: Ticket, to: str) -> bool:
    """Whether moving to `to` waits for (or was refused by) the ticket's approval."""
    return to in GATED and approval_state(state) in (AWAITING, REJECTED)


def require_approved(state: Ticket, to: str) -> None:
    if blocks(state, to):
        verdict = approval_state(state)
        rejected = rejection(state)
        stage = rejected.stage if rejected else current_stage(state).name  # type: ignore[union-attr]
        raise ApprovalRequired(to, stage, verdict)


def is_eligible(stage: ApprovalStage, actor: Actor, group_members: frozenset[str] | None) -> bool:
    if stage.approver_ids:
        return actor.user_id in stage.approver_ids
    if stage.approver_role:
        return stage.approver_role in actor.roles
    if stage.approver_group_id:
        return group_members is not None and actor.user_id in group_members
    return False


def approval_view(state: Ticket) -> dict:
    """The approval as the API shows it: its state, the current stage, each stage's decisions."""
    current = current_stage(state)
    verdict = approval_state(state)
    return {
        "state": verdict,
        "current_stage": current.name if current and verdict == AWAITING else None,
        "stages": [
            {
                "name": s.name,
                "approvals_required": s.approvals_required,
                "approver_group_id": s.approver_group_id,
                "approver_role": s.approver_role,
                "approver_ids": list(s.approver_ids),
                "approvals": approved_count(state, s.name),
                "state": _stage_state(state, s, current),
                "decisions": [
                    {"approver_id": a.approver_id, "decision": a.decision, "at": a.at.isoformat()}
                    for a in state.approvals
                    if a.stage == s.name
                ],
            }
            for s in state.approval_stages
        ],
    }


def _stage_state(state: Ticket, stage: ApprovalStage, current: ApprovalStage | None) -> str:
    if any(a.stage == stage.name and a.decision == REJECT for a in state.approvals):
        return REJECTED
    if approved_count(state, stage.name) >= stage.approvals_required:
        return APPROVED
    return AWAITING if current == stage else "waiting"


# stages as policies and events carry them


def clean_stage_name(value: object) -> str:
    if not isinstance(value, str) or not CATEGORY_PATTERN.fullmatch(value.strip().lower()):
        raise ValidationFailed("name", "must be a slug: lowercase letters, digits and _ . / -")
    return value.strip().lower()


def clean_stages(stages: object) -> tuple[ApprovalStage, ...]:
    """Stages of a policy: 1 to STAGES_MAX, unique names, one kind of approver each, and no
    more approvals required than named approvers."""
    if not isinstance(stages, list | tuple) or not 1 <= len(stages) <= STAGES_MAX:
        raise ValidationFailed("stages", f"between 1 and {STAGES_MAX} stages")
    cleaned, names = [], set()
    for stage in stages:
        name = clean_stage_name(stage.get("name"))
        if name in names:
            raise ValidationFailed("stages", f"stage {name} appears twice")
        names.add(name)
        required = stage.get("approvals_required", 1)
        if isinstance(required, bool) or not isinstance(required, int):
            raise ValidationFailed("approvals_required", "must be a whole number")
        if not 1 <= required <= APPROVALS_MAX:
            raise ValidationFailed("approvals_required", f"between 1 and {APPROVALS_MAX}")
        group, role = stage.get("approver_group_id"), stage.get("approver_role")
        ids = stage.get("approver_ids") or ()
        if sum(bool(x) for x in (group, role, ids)) != 1:
            raise ValidationFailed(
                "stages",
                f"stage {name} needs exactly one of approver_group_id, approver_role, approver_ids",
            )
        if group:
            group = sorted(clean_ids("approver_group_id", [group]))[0]
        if role:
            role = clean_choice("approver_role", role, APPROVER_ROLES)
        ids = tuple(sorted(clean_ids("approver_ids", ids)))
        if len(ids) > APPROVER_IDS_MAX:
            raise ValidationFailed("approver_ids", f"at most {APPROVER_IDS_MAX} per stage")
        if ids and required > len(ids):
            raise ValidationFailed(
                "approvals_required", f"stage {name} requires more approvals than approvers"
            )
        cleaned.append(ApprovalStage(name, required, group or None, role or None, ids))
    return tuple(cleaned)


def stage_document(stage: ApprovalStage) -> dict:
    document = {"name": stage.name, "approvals_required": stage.approvals_required}
    if stage.approver_group_id:
        document["approver_group_id"] = stage.approver_group_id
    if stage.approver_role:
        document["approver_role"] = stage.approver_role
    if stage.approver_ids:
        document["approver_ids"] = list(stage.approver_ids)
    return document


# decide


def _require_open(state: Ticket) -> None:
    if state.status in lc.TERMINAL:
        raise TicketClosed(state.ticket_id, state.status)


def _instant(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(field, "must be an instant with its UTC offset")
    return value


def decide_plan(state: Ticket, cmd: PlanChange, now: datetime) -> list[NewEvent]:
    require_privileged(cmd.actor, "plan a change")
    _require_open(state)
    given = {
        key: value
        for key in ("planned_start", "planned_end", "risk")
        if (value := getattr(cmd, key)) is not None
    }
    if not given:
        return []
    if state.type != CHANGE:
        raise ValidationFailed(
            sorted(given)[0], "only a change carries a planned window and a risk"
        )
    start = (
        state.planned_start
        if cmd.planned_start is None
        else _instant("planned_start", cmd.planned_start)
    )
    end = state.planned_end if cmd.planned_end is None else _instant("planned_end", cmd.planned_end)
    risk = state.risk if cmd.risk is None else clean_choice("risk", cmd.risk, RISKS)
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("planned_end", "must be after planned_start")
    changed = sorted(
        key
        for key, before, after in (
            ("planned_start", state.planned_start, start),
            ("planned_end", state.planned_end, end),
            ("risk", state.risk, risk),
        )
        if before != after
    )
    if not changed:
        return []
    data = {
        "fields": changed,
        "planned_start": start.isoformat() if start else None,
        "planned_end": end.isoformat() if end else None,
        "risk": risk,
    }
    return [NewEvent(CHANGE_PLANNED, data, {})]


def decide_policy(state: Ticket, cmd: ApplyApprovalPolicy, now: datetime) -> list[NewEvent]:
    if state.type != cmd.ticket_type or state.approval_stages or not cmd.stages:
        return []
    _require_open(state)
    stages = clean_stages([stage_document(s) for s in cmd.stages])
    data = {
        "policy_version": int(cmd.policy_version),
        "stages": [stage_document(s) for s in stages],
    }
    return [NewEvent(APPROVAL_STAGES_SET, data, {})]


def decide_approval(state: Ticket, cmd: RecordApproval, now: datetime) -> list[NewEvent]:
    actor = cmd.actor
    _require_open(state)
    decision = clean_choice("decision", cmd.decision, DECISIONS)
    comment = clean_text("comment", cmd.comment or "", required=decision == REJECT)
    if not state.approval_stages:
        raise ApprovalConflict("this ticket is not awaiting approval")
    name = cmd.stage.strip().lower() if isinstance(cmd.stage, str) else cmd.stage
    stage = next((s for s in state.approval_stages if s.name == name), None)
    if stage is None:
        raise UnknownStage(str(cmd.stage))
    verdict = approval_state(state)
    if verdict != AWAITING:
        raise ApprovalConflict(f"this ticket is not awaiting approval: it is {verdict}", name)
    current = current_stage(state) or stage  # awaiting: some stage is short of approvals
    if current.name != stage.name:
        raise ApprovalConflict(
            f"stage {stage.name} is not the current stage; {current.name} is",
            stage.name,
            current.name,
        )
    if actor.user_id in (state.requester_id, state.opened_by):
        raise NotPermitted("the requester of a change may not decide on its approval")
    if not is_eligible(stage, actor, cmd.group_members):
        raise NotPermitted(f"only the approvers of stage {stage.name} may decide on it")
    if any(a.stage == stage.name and a.approver_id == actor.user_id for a in state.approvals):
        raise ApprovalConflict(
            f"you have already decided on stage {stage.name}", stage.name, current.name
        )
    approvals = approved_count(state, stage.name) + (decision == APPROVE)
    stage_approved = decision == APPROVE and approvals >= stage.approvals_required
    last = stage.name == state.approval_stages[-1].name
    data = {
        "stage": stage.name,
        "decision": decision,
        "approver_id": actor.user_id,
        "approvals": approvals,
        "stage_approved": stage_approved,
        "approved": stage_approved and last,
    }
    pii = {"comment": pii_value(actor.user_id, comment)} if comment else {}
    return [NewEvent(APPROVAL_RECORDED, data, pii)]


HANDLERS = {
    PlanChange: decide_plan,
    ApplyApprovalPolicy: decide_policy,
    RecordApproval: decide_approval,
}


# evolve


def _planned(state: Ticket, event: RecordedEvent) -> Ticket:
    data = event.data

    def instant(value):
        return datetime.fromisoformat(value) if value else None

    return replace(
        state,
        planned_start=instant(data.get("planned_start")),
        planned_end=instant(data.get("planned_end")),
        risk=data.get("risk"),
    )


def _stages_set(state: Ticket, event: RecordedEvent) -> Ticket:
    stages = tuple(
        ApprovalStage(
            s["name"],
            s["approvals_required"],
            s.get("approver_group_id"),
            s.get("approver_role"),
            tuple(s.get("approver_ids") or ()),
        )
        for s in event.data["stages"]
    )
    return replace(state, approval_stages=stages)


def _recorded(state: Ticket, event: RecordedEvent) -> Ticket:
    data = event.data
    approval = Approval(data["stage"], data["approver_id"], data["decision"], event.occurred_at)
    return replace(state, approvals=(*state.approvals, approval))


APPLIERS = {
    CHANGE_PLANNED: _planned,
    APPROVAL_STAGES_SET: _stages_set,
    APPROVAL_RECORDED: _recorded,
}
