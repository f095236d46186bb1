"""Change approvals in the pure domain: the planned window and risk, the stages fixed from the
policy, who may decide, stages in order, a rejection, and the moves that wait for sign-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.domain import (
    AddComment,
    ApplyApprovalPolicy,
    ApprovalConflict,
    ApprovalRequired,
    LinkTicket,
    NotPermitted,
    OpenTicket,
    PlanChange,
    RecordApproval,
    ResolveWithParent,
    TicketClosed,
    Transition,
    UnknownStage,
    UpdateTicket,
    ValidationFailed,
    replay,
)
from services.ticketing.domain.approvals import approval_state, approval_view, clean_stages
from services.ticketing.domain.model import ApprovalStage

T0 = datetime(2024, 3, 9, 22, 0, tzinfo=UTC)


def stages(*specs):
    return tuple(ApprovalStage(*spec) for spec in specs)


@pytest.fixture
def change(open_ticket, agent):
    """change(*stages, status="new") -> a change opened by `agent` with those stages fixed."""

    def build(*fixed, status="new", by=None):
        stream = open_ticket(by or agent, status, type="change", title="Upgrade the core switch")
        if fixed:
            stream.when(
                ApplyApprovalPolicy(
                    actor=by or agent, ticket_type="change", stages=stages(*fixed), policy_version=3
                )
            )
        return stream

    return build


# the planned window and risk


def test_a_change_gets_its_planned_window_and_risk(change, agent):
    stream = change()
    events = stream.when(
        PlanChange(actor=agent, planned_start=T0, planned_end=T0 + timedelta(hours=2), risk="high")
    )
    assert [e.type for e in events] == ["change_planned"]
    assert events[0].data["fields"] == ["planned_end", "planned_start", "risk"]
    assert (stream.state.planned_start, stream.state.planned_end, stream.state.risk) == (
        T0,
        T0 + timedelta(hours=2),
        "high",
    )


def test_the_planned_end_must_come_after_the_start(change, agent):
    stream = change()
    with pytest.raises(ValidationFailed) as failed:
        stream.when(PlanChange(actor=agent, planned_start=T0, planned_end=T0))
    assert failed.value.field == "planned_end"


def test_a_new_start_is_checked_against_the_end_already_planned(change, agent):
    stream = change()
    stream.when(PlanChange(actor=agent, planned_start=T0, planned_end=T0 + timedelta(hours=1)))
    with pytest.raises(ValidationFailed) as failed:
        stream.when(PlanChange(actor=agent, planned_start=T0 + timedelta(hours=3)))
    assert failed.value.field == "planned_end"


def test_an_unknown_risk_is_refused(change, agent):
    with pytest.raises(ValidationFailed) as failed:
        change().when(PlanChange(actor=agent, risk="extreme"))
    assert failed.value.field == "risk"


def test_a_naive_instant_is_refused(change, agent):
    with pytest.raises(ValidationFailed) as failed:
        change().when(PlanChange(actor=agent, planned_start=datetime(2024, 3, 9, 22, 0)))
    assert failed.value.field == "planned_start"


def test_only_a_change_carries_a_window(open_ticket, requester, agent):
    stream = open_ticket(requester)
    with pytest.raises(ValidationFailed) as failed:
        stream.when(PlanChange(actor=agent, risk="low"))
    assert failed.value.field == "risk"


def test_planning_the_same_again_records_nothing(change, agent):
    stream = change()
    stream.when(PlanChange(actor=agent, risk="low"))
    assert stream.when(PlanChange(actor=agent, risk="low")) == []


def test_a_requester_cannot_plan_a_change(change, requester):
    with pytest.raises(NotPermitted):
        change().when(PlanChange(actor=requester, risk="low"))


# the stages fixed on the ticket


def test_the_policy_stages_are_fixed_on_the_ticket_with_the_policy_version(change):
    stream = change(("cab", 2, None, "agent"), ("owner", 1, None, "admin"))
    assert stream.events[-1].type == "approval_stages_set"
    assert stream.events[-1].data["policy_version"] == 3
    assert [s.name for s in stream.state.approval_stages] == ["cab", "owner"]
    assert approval_state(stream.state) == "awaiting"


def test_the_stages_are_fixed_once(change, agent):
    stream = change(("cab", 1, None, "agent"))
    again = ApplyApprovalPolicy(
        actor=agent,
        ticket_type="change",
        stages=stages(("other", 1, None, "admin")),
        policy_version=4,
    )
    assert stream.when(again) == []
    assert [s.name for s in stream.state.approval_stages] == ["cab"]


def test_a_policy_for_another_type_does_not_apply(open_ticket, requester, agent):
    stream = open_ticket(requester)
    command = ApplyApprovalPolicy(
        actor=agent,
        ticket_type="change",
        stages=stages(("cab", 1, None, "agent")),
        policy_version=1,
    )
    assert stream.when(command) == []
    assert approval_state(stream.state) == "not_required"


def test_a_ticket_retyped_to_change_takes_the_policy_and_keeps_it_when_retyped_back(
    open_ticket, requester, agent
):
    stream = open_ticket(requester)
    stream.when(UpdateTicket(actor=agent, type="change"))
    stream.when(
        ApplyApprovalPolicy(
            actor=agent,
            ticket_type="change",
            stages=stages(("cab", 1, None, "agent")),
            policy_version=1,
        )
    )
    stream.when(UpdateTicket(actor=agent, type="incident"))
    with pytest.raises(ApprovalRequired):
        stream.when(Transition(actor=agent, to="in_progress"))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ([], "stages"),
        ([{"name": "cab", "approver_role": "agent"}] * 2, "stages"),
        ([{"name": "Not a slug!", "approver_role": "agent"}], "name"),
        ([{"name": "cab"}], "stages"),
        ([{"name": "cab", "approver_role": "agent", "approver_ids": ["x"]}], "stages"),
        ([{"name": "cab", "approver_role": "requester"}], "approver_role"),
        (
            [{"name": "cab", "approver_role": "agent", "approvals_required": 0}],
            "approvals_required",
        ),
        ([{"name": "cab", "approver_group_id": "sales"}], "approver_group_id"),
        (
            [
                {
                    "name": "cab",
                    "approver_ids": ["9b2a0c2e-8a5c-4d6e-9d7b-2f7c1e0a4b11"],
                    "approvals_required": 2,
                }
            ],
            "approvals_required",
        ),
    ],
)
def test_a_policy_with_bad_stages_is_refused_naming_the_field(spec, field):
    with pytest.raises(ValidationFailed) as failed:
        clean_stages(spec)
    assert failed.value.field == field


# deciding on a stage


def test_an_eligible_approver_approves_the_current_stage(change, actor_with):
    stream = change(("cab", 2, None, "agent"))
    first = actor_with("agent")
    events = stream.when(
        RecordApproval(actor=first, stage="cab", decision="approve", comment="Looks safe.")
    )
    assert [e.type for e in events] == ["approval_recorded"]
    assert events[0].data == {
        "stage": "cab",
        "decision": "approve",
        "approver_id": first.user_id,
        "approvals": 1,
        "stage_approved": False,
        "approved": False,
    }
    # the comment is the approver's personal text, sealed under their key
    assert events[0].pii == {"comment": {"subject_id": first.user_id, "value": "Looks safe."}}


def test_enough_approvals_pass_the_stage_and_the_last_stage_approves_the_change(change, actor_with):
    stream = change(("cab", 2, None, "agent"), ("owner", 1, None, "admin"))
    stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    second = stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    assert second[0].data["stage_approved"] and not second[0].data["approved"]
    assert approval_view(stream.state)["current_stage"] == "owner"
    last = stream.when(RecordApproval(actor=actor_with("admin"), stage="owner", decision="approve"))
    assert last[0].data["approved"]
    assert approval_state(stream.state) == "approved"


def test_a_stage_that_is_not_current_is_409_naming_the_current_one(change, actor_with):
    stream = change(("cab", 1, None, "agent"), ("owner", 1, None, "admin"))
    with pytest.raises(ApprovalConflict) as refused:
        stream.when(RecordApproval(actor=actor_with("admin"), stage="owner", decision="approve"))
    assert (refused.value.stage, refused.value.current_stage) == ("owner", "cab")


def test_an_unknown_stage_is_not_found(change, actor_with):
    with pytest.raises(UnknownStage):
        change(("cab", 1, None, "agent")).when(
            RecordApproval(actor=actor_with("agent"), stage="board", decision="approve")
        )


def test_a_ticket_without_stages_is_not_awaiting_approval(change, actor_with):
    with pytest.raises(ApprovalConflict):
        change().when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))


def test_an_approved_change_takes_no_more_decisions(change, actor_with):
    stream = change(("cab", 1, None, "agent"))
    stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    with pytest.raises(ApprovalConflict):
        stream.when(
            RecordApproval(
                actor=actor_with("agent"), stage="cab", decision="reject", comment="Too late."
            )
        )


def test_the_same_person_cannot_approve_the_same_stage_twice(change, actor_with):
    stream = change(("cab", 2, None, "agent"))
    approver = actor_with("agent")
    stream.when(RecordApproval(actor=approver, stage="cab", decision="approve"))
    with pytest.raises(ApprovalConflict):
        stream.when(RecordApproval(actor=approver, stage="cab", decision="approve"))


def test_one_person_may_approve_successive_stages(change, actor_with):
    stream = change(("cab", 1, None, "agent"), ("ops", 1, None, "agent"))
    approver = actor_with("agent")
    stream.when(RecordApproval(actor=approver, stage="cab", decision="approve"))
    stream.when(RecordApproval(actor=approver, stage="ops", decision="approve"))
    assert approval_state(stream.state) == "approved"


def test_the_requester_of_a_change_may_not_approve_it(change, agent):
    stream = change(("cab", 1, None, "agent"), by=agent)
    with pytest.raises(NotPermitted):
        stream.when(RecordApproval(actor=agent, stage="cab", decision="approve"))


def test_the_requester_named_by_whoever_opened_may_not_approve_either(
    new_stream, new_id, actor_with
):
    opener, owner = actor_with("agent"), actor_with("agent")
    stream = new_stream()
    stream.when(
        OpenTicket(
            actor=opener,
            ticket_id=new_id(),
            type="change",
            title="Rotate certificates",
            requester_id=owner.user_id,
        )
    )
    stream.when(
        ApplyApprovalPolicy(
            actor=opener,
            ticket_type="change",
            stages=stages(("cab", 1, None, "agent")),
            policy_version=1,
        )
    )
    for who in (opener, owner):
        with pytest.raises(NotPermitted):
            stream.when(RecordApproval(actor=who, stage="cab", decision="approve"))


def test_someone_without_the_stage_role_is_forbidden(change, actor_with):
    with pytest.raises(NotPermitted):
        change(("owner", 1, None, "admin")).when(
            RecordApproval(actor=actor_with("agent"), stage="owner", decision="approve")
        )


def test_named_approvers_only_are_eligible(change, actor_with):
    named = actor_with("agent")
    stream = change(("cab", 1, None, None, (named.user_id,)))
    with pytest.raises(NotPermitted):
        stream.when(RecordApproval(actor=actor_with("admin"), stage="cab", decision="approve"))
    stream.when(RecordApproval(actor=named, stage="cab", decision="approve"))
    assert approval_state(stream.state) == "approved"


def test_group_approvers_are_the_members_the_service_hands_over(change, actor_with, new_id):
    member, outsider = actor_with("agent"), actor_with("agent")
    stream = change(("cab", 1, new_id()))
    with pytest.raises(NotPermitted):
        stream.when(
            RecordApproval(
                actor=outsider,
                stage="cab",
                decision="approve",
                group_members=frozenset({member.user_id}),
            )
        )
    with pytest.raises(NotPermitted):  # no membership known: nobody is eligible
        stream.when(RecordApproval(actor=member, stage="cab", decision="approve"))
    stream.when(
        RecordApproval(
            actor=member, stage="cab", decision="approve", group_members=frozenset({member.user_id})
        )
    )
    assert approval_state(stream.state) == "approved"


def test_an_unknown_decision_is_refused(change, actor_with):
    with pytest.raises(ValidationFailed) as failed:
        change(("cab", 1, None, "agent")).when(
            RecordApproval(actor=actor_with("agent"), stage="cab", decision="maybe")
        )
    assert failed.value.field == "decision"


def test_a_closed_change_takes_no_decision(change, actor_with, agent):
    stream = change(("cab", 1, None, "agent"))
    stream.when(Transition(actor=agent, to="cancelled"))
    with pytest.raises(TicketClosed):
        stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))


# rejection


def test_a_reject_needs_a_comment(change, actor_with):
    with pytest.raises(ValidationFailed) as failed:
        change(("cab", 1, None, "agent")).when(
            RecordApproval(actor=actor_with("agent"), stage="cab", decision="reject")
        )
    assert failed.value.field == "comment"


def test_one_reject_rejects_the_change_for_good(change, actor_with, agent):
    stream = change(("cab", 2, None, "agent"))
    stream.when(
        RecordApproval(
            actor=actor_with("agent"), stage="cab", decision="reject", comment="No rollback."
        )
    )
    assert approval_state(stream.state) == "rejected"
    with pytest.raises(ApprovalConflict):
        stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    with pytest.raises(ApprovalRequired) as refused:
        stream.when(Transition(actor=agent, to="in_progress"))
    assert (refused.value.stage, refused.value.state) == ("cab", "rejected")
    stream.when(Transition(actor=agent, to="cancelled"))  # what is left to do with it
    assert stream.state.status == "cancelled"


# the moves that wait for sign-off


@pytest.mark.parametrize("to", ["in_progress", "resolved"])
def test_an_unapproved_change_cannot_start_or_resolve_naming_the_missing_stage(
    change, actor_with, agent, to
):
    stream = change(("cab", 1, None, "agent"), ("owner", 1, None, "admin"))
    stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    with pytest.raises(ApprovalRequired) as refused:
        stream.when(Transition(actor=agent, to=to))
    assert (refused.value.requested, refused.value.stage) == (to, "owner")
    assert "owner" in str(refused.value)


def test_an_unapproved_change_may_wait_or_be_cancelled(change, agent):
    stream = change(("cab", 1, None, "agent"))
    stream.when(Transition(actor=agent, to="pending", reason="scheduled"))
    stream.when(Transition(actor=agent, to="cancelled"))
    assert stream.state.status == "cancelled"


def test_an_approved_change_moves_to_in_progress(change, actor_with, agent):
    stream = change(("cab", 1, None, "agent"))
    stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    stream.when(Transition(actor=agent, to="in_progress"))
    assert stream.state.status == "in_progress"


def test_a_change_without_stages_needs_no_approval(change, agent):
    stream = change()
    stream.when(Transition(actor=agent, to="in_progress"))
    assert stream.state.status == "in_progress"


def test_the_requesters_reply_does_not_start_an_unapproved_change(change, agent, new_id):
    stream = change(("cab", 1, None, "admin"), by=agent)
    stream.when(Transition(actor=agent, to="pending", reason="awaiting_requester"))
    events = stream.when(AddComment(actor=agent, comment_id=new_id(), body="Details attached."))
    assert [e.type for e in events] == ["comment_added"]
    assert stream.state.status == "pending"


def test_a_closing_parent_leaves_an_unapproved_child_change_as_it_is(change, agent, new_id):
    stream = change(("cab", 1, None, "agent"))
    parent = new_id()
    stream.when(LinkTicket(actor=agent, kind="child_of", other_id=parent))
    assert stream.when(ResolveWithParent(actor=agent, parent_id=parent)) == []
    assert stream.state.status == "new"


def test_replaying_the_stream_gives_the_same_approval(change, actor_with):
    stream = change(("cab", 1, None, "agent"))
    stream.when(RecordApproval(actor=actor_with("agent"), stage="cab", decision="approve"))
    assert replay(stream.events) == stream.state
    assert approval_view(replay(stream.events))["stages"][0]["state"] == "approved"


def test_a_snapshot_keeps_the_window_the_stages_and_the_decisions(change, actor_with, agent):
    import uuid

    from services.ticketing import snapshots
    from services.ticketing.sla import EMPTY_HISTORY
    from shared.crypto import FieldCipher, LocalKeyring

    first, second = actor_with("agent"), actor_with("admin")
    stream = change(("cab", 2, None, None, (first.user_id, second.user_id)))
    stream.when(PlanChange(actor=agent, planned_start=T0, risk="medium"))
    stream.when(RecordApproval(actor=first, stage="cab", decision="approve"))
    cipher, tenant = FieldCipher(LocalKeyring()), str(uuid.uuid4())
    aggregate = snapshots.Aggregate(stream.state, EMPTY_HISTORY)
    body = snapshots.dump(cipher, tenant, aggregate)
    restored = snapshots.restore(cipher, tenant, stream.state.version, body)
    assert restored.state == stream.state
