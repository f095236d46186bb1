"""The export saga as a state machine: collect parts from every service, assemble, expire."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from services.privacy.sagas.actions import (
    AssembleBundle,
    ExpireBundle,
    RequestExport,
    ReviewRequest,
    SagaPolicy,
)
from services.privacy.sagas.export import ExportSaga

PARTICIPANTS = ["identity", "ticketing", "ai"]
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)
POLICY = SagaPolicy(retry_base=MINUTE, bundle_ttl=7 * DAY)


def collecting_saga():
    subject = str(uuid.uuid4())
    saga = ExportSaga.start(
        uuid.uuid4(), uuid.uuid4(), subject, subject, (), T0, PARTICIPANTS, policy=POLICY
    )
    saga.review(["litigation hold"], T0)
    return saga


def test_a_new_export_first_asks_for_a_review():
    subject = str(uuid.uuid4())
    saga = ExportSaga.start(uuid.uuid4(), uuid.uuid4(), subject, subject, (), T0, PARTICIPANTS)
    assert saga.next_actions(T0) == [ReviewRequest()]


def test_a_legal_hold_does_not_block_an_export():
    assert collecting_saga().status == "collecting"


def test_every_participant_is_asked_for_its_data_once():
    saga = collecting_saga()
    assert saga.next_actions(T0) == [RequestExport(name, 1) for name in PARTICIPANTS]
    assert saga.next_actions(T0 + MINUTE) == []


def test_all_parts_lead_to_assembly():
    saga = collecting_saga()
    saga.next_actions(T0)
    for name in PARTICIPANTS:
        saga.on_part(name, T0 + MINUTE)
    assert saga.next_actions(T0 + MINUTE) == [AssembleBundle(tuple(PARTICIPANTS))]


def test_a_failed_part_is_requested_again_after_backoff():
    saga = collecting_saga()
    saga.next_actions(T0)
    saga.on_failure("ticketing", "timeout", T0 + MINUTE)
    assert saga.next_actions(T0 + 2 * MINUTE) == [RequestExport("ticketing", 2)]


def test_an_assembled_bundle_is_ready_until_it_expires():
    saga = collecting_saga()
    saga.next_actions(T0)
    for name in PARTICIPANTS:
        saga.on_part(name, T0)
    assert saga.on_assembled(T0 + MINUTE) == T0 + MINUTE + 7 * DAY
    assert saga.status == "ready"
    assert saga.next_wakeup() == T0 + MINUTE + 7 * DAY
    assert saga.next_actions(T0 + 7 * DAY) == []
    assert saga.next_actions(T0 + MINUTE + 7 * DAY) == [ExpireBundle(saga.request_id)]
    assert saga.status == "expired"


def test_a_ready_export_no_longer_counts_as_a_running_duplicate():
    saga = collecting_saga()
    assert saga.active
    for name in PARTICIPANTS:
        saga.on_part(name, T0)
    saga.on_assembled(T0)
    assert not saga.active


def test_a_restarted_export_keeps_collected_parts():
    saga = collecting_saga()
    saga.next_actions(T0)
    saga.on_part("identity", T0)
    saga.on_failure("ai", "down", T0)
    restarted = ExportSaga.from_dict(json.loads(json.dumps(saga.to_dict())), policy=POLICY)
    assert restarted.next_actions(T0 + MINUTE) == [RequestExport("ai", 2)]
    assert restarted.participants["identity"].step == "done"


def test_an_export_with_every_part_is_due_for_assembly_at_once():
    saga = collecting_saga()
    saga.next_actions(T0)
    for name in PARTICIPANTS:
        saga.on_part(name, T0 + MINUTE)
    assert saga.next_wakeup() == T0 + MINUTE
