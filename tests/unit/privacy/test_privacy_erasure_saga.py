"""The erasure saga as a state machine: review, shred, purge with retries, deadlines, restarts."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.privacy.sagas.actions import (
    Complete,
    EmitReminder,
    Escalate,
    ReviewRequest,
    SagaPolicy,
    SendPurge,
    ShredKey,
)
from services.privacy.sagas.base import SagaError
from services.privacy.sagas.erasure import ErasureSaga

PARTICIPANTS = ["identity", "ticketing", "ai", "audit"]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)
POLICY = SagaPolicy(
    retry_base=MINUTE,
    retry_cap=timedelta(minutes=10),
    receipt_timeout=timedelta(hours=1),
    escalate_after_failures=3,
)


def new_saga(requested_by=None, roles=(), participants=PARTICIPANTS):
    subject = str(uuid.uuid4())
    return ErasureSaga.start(
        uuid.uuid4(),
        uuid.uuid4(),
        subject,
        requested_by or subject,
        roles,
        T0,
        participants,
        policy=POLICY,
    )


def purging_saga(**kwargs):
    saga = new_saga(**kwargs)
    saga.review([], T0)
    saga.next_actions(T0)
    saga.on_key_shredded(T0)
    return saga


def reload(saga):
    return ErasureSaga.from_dict(json.loads(json.dumps(saga.to_dict())), policy=POLICY)


def sends(actions):
    return [(a.participant, a.attempt) for a in actions if isinstance(a, SendPurge)]


def test_a_new_saga_first_asks_for_a_review():
    assert new_saga().next_actions(T0) == [ReviewRequest()]


def test_the_deadline_is_thirty_days_after_the_request():
    assert new_saga().deadline == T0 + 30 * DAY


def test_an_approved_request_shreds_the_subject_key_before_anything_else():
    saga = new_saga()
    saga.review([], T0)
    assert saga.next_actions(T0) == [ShredKey(saga.tenant_id, saga.subject_id)]


def test_no_purge_is_sent_until_the_key_is_shredded():
    saga = new_saga()
    saga.review([], T0)
    saga.next_actions(T0)
    assert saga.next_actions(T0 + MINUTE) == [ShredKey(saga.tenant_id, saga.subject_id)]


def test_a_legal_hold_blocks_the_erasure_with_its_reason():
    saga = new_saga()
    saga.review(["litigation 2026-17"], T0)
    assert saga.status == "blocked"
    assert "litigation 2026-17" in saga.reason
    assert saga.next_actions(T0) == []
    assert not saga.active


def test_a_requester_without_authority_is_rejected():
    saga = new_saga(requested_by=str(uuid.uuid4()), roles=["agent"])
    saga.review([], T0)
    assert saga.status == "rejected"
    assert saga.next_actions(T0) == []


def test_a_privacy_officer_may_request_erasure_of_another_subject():
    saga = new_saga(requested_by=str(uuid.uuid4()), roles=["privacy_officer"])
    saga.review([], T0)
    assert saga.status == "shredding"


def test_after_shredding_every_participant_is_asked_to_purge_once():
    saga = purging_saga()
    assert sends(saga.next_actions(T0)) == [(name, 1) for name in PARTICIPANTS]
    assert saga.next_actions(T0 + MINUTE) == []


def test_all_receipts_complete_the_saga():
    saga = purging_saga()
    saga.next_actions(T0)
    for name in PARTICIPANTS:
        saga.on_receipt(name, T0 + MINUTE)
    assert saga.next_actions(T0 + 2 * MINUTE) == [Complete(saga.request_id)]
    assert saga.status == "completed"
    assert saga.completed_at == T0 + 2 * MINUTE
    assert saga.next_actions(T0 + 3 * MINUTE) == []


def test_the_saga_does_not_complete_while_a_receipt_is_missing():
    saga = purging_saga()
    saga.next_actions(T0)
    for name in PARTICIPANTS[:-1]:
        saga.on_receipt(name, T0 + MINUTE)
    assert Complete(saga.request_id) not in saga.next_actions(T0 + 2 * MINUTE)
    assert saga.status == "purging"


def test_a_receipt_delivered_twice_is_harmless():
    saga = purging_saga()
    saga.next_actions(T0)
    assert saga.on_receipt("ai", T0 + MINUTE) is True
    assert saga.on_receipt("ai", T0 + 5 * MINUTE) is False
    assert saga.participants["ai"].done_at == T0 + MINUTE


def test_a_receipt_from_an_unknown_participant_is_an_error():
    saga = purging_saga()
    with pytest.raises(SagaError, match="billing"):
        saga.on_receipt("billing", T0)


def test_a_failing_participant_is_retried_with_exponential_backoff_then_succeeds():
    saga = purging_saga(participants=["ai"])
    assert sends(saga.next_actions(T0)) == [("ai", 1)]
    saga.on_failure("ai", "index locked", T0 + MINUTE)
    assert saga.next_actions(T0 + MINUTE + 59 * timedelta(seconds=1)) == []
    assert sends(saga.next_actions(T0 + 2 * MINUTE)) == [("ai", 2)]
    saga.on_failure("ai", "index locked", T0 + 3 * MINUTE)
    assert saga.next_actions(T0 + 4 * MINUTE) == []
    assert sends(saga.next_actions(T0 + 5 * MINUTE)) == [("ai", 3)]
    saga.on_receipt("ai", T0 + 6 * MINUTE)
    assert saga.next_actions(T0 + 6 * MINUTE) == [Complete(saga.request_id)]


def test_backoff_doubles_and_stops_at_the_cap():
    assert [POLICY.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [
        MINUTE * m for m in (1, 2, 4, 8, 10, 10)
    ]


def test_a_failure_report_for_an_older_attempt_is_ignored():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_failure("ai", "first", T0 + MINUTE, attempt=1)
    saga.next_actions(T0 + 2 * MINUTE)
    assert saga.on_failure("ai", "first, redelivered", T0 + 3 * MINUTE, attempt=1) is False
    assert saga.participants["ai"].failures == 1


def test_a_failure_after_the_receipt_does_not_undo_it():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_receipt("ai", T0 + MINUTE)
    assert saga.on_failure("ai", "late timeout", T0 + 2 * MINUTE) is False
    assert saga.participants["ai"].step == "done"


def test_a_missing_receipt_counts_as_a_failure_after_the_timeout():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    assert saga.next_actions(T0 + timedelta(minutes=59)) == []
    assert sends(saga.next_actions(T0 + timedelta(minutes=61))) == [("ai", 2)]
    assert saga.participants["ai"].last_error == "no answer within 1:00:00"


def test_reminders_are_emitted_at_seven_and_three_days_left():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_failure("ai", "down", T0)
    saga.participants["ai"].next_attempt_at = T0 + 60 * DAY  # keep retries out of this test
    deadline = saga.deadline
    assert saga.next_actions(deadline - 7 * DAY - MINUTE) == []
    assert saga.next_actions(deadline - 7 * DAY) == [EmitReminder(7, deadline)]
    assert saga.next_actions(deadline - 4 * DAY) == []
    assert saga.next_actions(deadline - 3 * DAY) == [EmitReminder(3, deadline)]


def test_a_late_timer_emits_only_the_most_urgent_reminder():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_failure("ai", "down", T0)
    saga.participants["ai"].next_attempt_at = T0 + 60 * DAY
    assert saga.next_actions(saga.deadline - 2 * DAY) == [EmitReminder(3, saga.deadline)]


def test_the_saga_escalates_once_when_one_day_is_left():
    saga = purging_saga(participants=["ai", "audit"])
    saga.next_actions(T0)
    saga.on_receipt("audit", T0)
    saga.on_failure("ai", "down", T0)
    saga.participants["ai"].next_attempt_at = T0 + 60 * DAY
    escalation = Escalate("deadline_near", ("ai",), saga.deadline)
    assert escalation in saga.next_actions(saga.deadline - DAY)
    assert saga.next_actions(saga.deadline - DAY + MINUTE) == []


def test_the_saga_escalates_again_when_the_deadline_passes():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_failure("ai", "down", T0)
    saga.participants["ai"].next_attempt_at = T0 + 60 * DAY
    saga.next_actions(saga.deadline - DAY)
    assert saga.next_actions(saga.deadline) == [Escalate("deadline_passed", ("ai",), saga.deadline)]


def test_a_participant_failing_repeatedly_is_escalated_once():
    saga = purging_saga(participants=["ai"])
    now = T0
    escalations = []
    for _ in range(5):
        actions = saga.next_actions(now)
        escalations += [a for a in actions if isinstance(a, Escalate)]
        saga.on_failure("ai", "down", now)
        now = saga.participants["ai"].next_attempt_at
    assert escalations == [Escalate("participant_failing", ("ai",), saga.deadline)]
    assert saga.participants["ai"].attempts == 5


def test_a_restarted_saga_does_not_repeat_completed_steps():
    saga = purging_saga()
    saga.next_actions(T0)
    saga.on_receipt("identity", T0 + MINUTE)
    saga.on_failure("ai", "down", T0 + MINUTE)
    restarted = reload(saga)
    assert restarted == saga
    assert restarted.next_actions(T0 + 2 * MINUTE) == [SendPurge("ai", 2)]


def test_a_restarted_saga_keeps_its_point_of_no_return():
    saga = purging_saga()
    restarted = reload(saga)
    assert restarted.key_shredded_at == T0
    assert not any(isinstance(a, ShredKey) for a in restarted.next_actions(T0))


def test_a_restarted_saga_remembers_reminders_already_sent():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_failure("ai", "down", T0)
    saga.participants["ai"].next_attempt_at = T0 + 60 * DAY
    saga.next_actions(saga.deadline - 7 * DAY)
    assert reload(saga).next_actions(saga.deadline - 7 * DAY + MINUTE) == []


def test_from_dict_refuses_another_kind_of_saga():
    data = purging_saga().to_dict()
    data["type"] = "export"
    with pytest.raises(SagaError):
        ErasureSaga.from_dict(data)


def test_two_requests_for_the_same_subject_share_a_duplicate_key():
    first = new_saga()
    second = ErasureSaga.start(
        uuid.uuid4(), first.tenant_id, first.subject_id, first.subject_id, (), T0, PARTICIPANTS
    )
    assert first.key == second.key == f"erasure:{first.tenant_id}:{first.subject_id}"
    assert first.active


def test_next_wakeup_is_the_earliest_pending_retry():
    saga = purging_saga(participants=["ai", "audit"])
    saga.next_actions(T0)
    saga.on_receipt("audit", T0)
    saga.on_failure("ai", "down", T0 + MINUTE)
    assert saga.next_wakeup() == T0 + 2 * MINUTE


def test_a_completed_saga_needs_no_wakeup():
    saga = purging_saga(participants=["ai"])
    saga.next_actions(T0)
    saga.on_receipt("ai", T0)
    saga.next_actions(T0)
    assert saga.next_wakeup() is None


def test_the_status_view_shows_each_participants_progress():
    saga = purging_saga(participants=["identity", "ai"])
    saga.next_actions(T0)
    saga.on_receipt("identity", T0 + MINUTE)
    saga.on_failure("ai", "index locked", T0 + MINUTE)
    view = saga.status_view()
    assert view["status"] == "purging"
    assert view["deadline"] == (T0 + 30 * DAY).isoformat()
    identity, ai = view["participants"]
    assert (identity["name"], identity["step"], identity["done_at"]) == (
        "identity",
        "done",
        (T0 + MINUTE).isoformat(),
    )
    assert (ai["step"], ai["attempts"], ai["last_error"]) == ("retrying", 1, "index locked")
    assert ai["next_attempt_at"] == (T0 + 2 * MINUTE).isoformat()
    assert "requested_by" not in view
    json.dumps(view)


def test_naive_times_are_refused():
    with pytest.raises(SagaError, match="timezone"):
        ErasureSaga.start("r", "t", "s", "s", (), datetime(2026, 1, 1), PARTICIPANTS)


def test_a_saga_with_all_receipts_is_due_for_completion_at_once():
    saga = purging_saga(participants=["ai", "audit"])
    saga.next_actions(T0)
    saga.on_receipt("ai", T0 + MINUTE)
    saga.on_receipt("audit", T0 + 2 * MINUTE)
    assert saga.next_wakeup() == T0 + 2 * MINUTE


def test_backoff_stays_at_the_cap_after_many_failures():
    assert POLICY.backoff(500) == POLICY.retry_cap
