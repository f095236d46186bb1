"""The erasure saga end to end: shredding, purges with receipts, outages, restarts, duplicates,
holds."""

import json

from shared.crypto import ERASED
from tests.integration.privacy.conftest import new_id


def erase(suite, tenant, subject):
    return suite.request(tenant, subject, {"type": "erasure", "subject_id": subject})


def test_an_erasure_shreds_the_key_purges_every_participant_and_completes(suite):
    tenant, subject, other = new_id(), new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Lovelace")
    suite.seed(tenant, other, name="Alan Turing")
    accepted = erase(suite, tenant, subject)
    assert accepted["status"] == "requested" and accepted["deadline"]
    view = suite.wait(tenant, accepted["id"])
    assert view["status"] == "completed" and view["key_shredded_at"]
    assert {p["name"]: p["step"] for p in view["participants"]} == {
        "profiles": "done",
        "notes": "done",
    }
    assert all(p["receipt"]["request_id"] == accepted["id"] for p in view["participants"])
    for name in ("profiles", "notes"):
        with suite.rpc(name) as participant:
            assert participant.view(tenant, subject) is None
            assert {e["name"] for e in participant.opened_events(tenant, subject)} == {ERASED}
            assert participant.view(tenant, other)["name"] == "Alan Turing"


def test_the_completion_event_carries_no_personal_data(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject, name="Grace Hopper", email="grace@example.com")
    request_id = erase(suite, tenant, subject)["id"]
    suite.wait(tenant, request_id)
    (envelope,) = suite.privacy_rows(
        "SELECT envelope FROM events WHERE event_type = 'privacy.erasure_completed'"
    )[0]
    assert envelope["data"]["request_id"] == request_id and "pii" not in envelope
    everything = json.dumps([row[0] for row in suite.privacy_rows("SELECT envelope FROM events")])
    assert "Grace" not in everything and "grace@example.com" not in everything


def test_an_erasure_completes_across_a_participant_that_was_down(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")
    request_id = erase(suite, tenant, subject)["id"]
    failing = suite.wait(
        tenant,
        request_id,
        until=lambda v: next(p for p in v["participants"] if p["name"] == "notes")["failures"] >= 2,
    )
    assert failing["status"] == "purging" and "notes" in str(failing["participants"])
    suite.start_participant("notes")
    view = suite.wait(tenant, request_id)
    notes = next(p for p in view["participants"] if p["name"] == "notes")
    assert view["status"] == "completed"
    assert notes["attempts"] >= 3 and notes["last_error"]
    with suite.rpc("notes") as participant:
        assert participant.view(tenant, subject) is None


def test_a_restart_of_privacy_mid_saga_ends_in_completion_without_a_second_erasure(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")
    request_id = erase(suite, tenant, subject)["id"]
    suite.wait(
        tenant,
        request_id,
        until=lambda v: (
            next(p for p in v["participants"] if p["name"] == "profiles")["step"] == "done"
        ),
    )
    suite.restart_privacy(between=lambda: suite.start_participant("notes"))
    assert suite.wait(tenant, request_id)["status"] == "completed"
    assert suite.purge_calls("profiles", subject) == 1
    assert (
        len(
            suite.privacy_rows(
                "SELECT 1 FROM events WHERE event_type = 'privacy.erasure_completed'"
            )
        )
        == 1
    )


def test_a_duplicate_request_joins_the_running_one_and_runs_once(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    first = erase(suite, tenant, subject)
    second = erase(suite, tenant, subject)
    with suite.rpc("privacy") as privacy:
        through_identity = privacy.request_erasure(tenant, subject, subject, ["requester"])
    assert first["id"] == second["id"] == through_identity["id"]
    suite.wait(tenant, first["id"])
    assert suite.purge_calls("profiles", subject) == 1 and suite.purge_calls("notes", subject) == 1
    assert len(suite.privacy_rows("SELECT 1 FROM privacy_requests")) == 1


def test_a_privacy_officer_may_erase_a_subject_of_their_own_tenant(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    accepted = suite.request(
        tenant, new_id(), {"type": "erasure", "subject_id": subject}, roles=("privacy_officer",)
    )
    assert suite.wait(tenant, accepted["id"])["status"] == "completed"


def test_a_user_of_another_tenant_cannot_request_erasure_of_a_subject(suite):
    tenant_a, tenant_b, subject = new_id(), new_id(), new_id()
    suite.seed(tenant_b, subject, name="Katherine Johnson")
    response = suite.post(
        "/v1/privacy/requests",
        {"type": "erasure", "subject_id": subject},
        tenant_a,
        new_id(),
        ("admin",),
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    with suite.rpc("profiles") as profiles:
        assert profiles.view(tenant_b, subject)["name"] == "Katherine Johnson"


def test_a_requester_cannot_request_erasure_of_someone_else(privacy_only):
    suite, tenant, subject = privacy_only(), new_id(), new_id()
    response = suite.post(
        "/v1/privacy/requests",
        {"type": "erasure", "subject_id": subject},
        tenant,
        new_id(),
        ("requester", "agent"),
    )
    assert response.status_code == 403


def test_a_request_of_another_tenant_is_not_found(privacy_only):
    suite, tenant, subject = privacy_only(), new_id(), new_id()
    request_id = erase(suite, tenant, subject)["id"]
    response = suite.get(f"/v1/privacy/requests/{request_id}", new_id(), subject, ("admin",))
    assert response.status_code == 404


def test_a_legal_hold_blocks_the_erasure_with_its_reason_and_keeps_the_key(suite):
    tenant, subject, officer = new_id(), new_id(), new_id()
    suite.seed(tenant, subject)
    hold = suite.post(
        "/v1/privacy/holds",
        {"subject_id": subject, "reason": "litigation 2026-17"},
        tenant,
        officer,
        ("privacy_officer",),
    )
    assert hold.status_code == 201
    view = suite.wait(tenant, erase(suite, tenant, subject)["id"])
    assert view["status"] == "blocked" and "litigation 2026-17" in view["reason"]
    with suite.rpc("profiles") as profiles:
        assert profiles.view(tenant, subject) is not None
        assert profiles.opened_events(tenant, subject)[0]["name"] == "Ada Lovelace"


def test_a_released_hold_lets_a_new_erasure_complete(suite):
    tenant, subject, officer = new_id(), new_id(), new_id()
    suite.seed(tenant, subject)
    hold = suite.post(
        "/v1/privacy/holds", {"subject_id": subject, "reason": "audit"}, tenant, officer, ("admin",)
    ).json()
    suite.wait(tenant, erase(suite, tenant, subject)["id"])
    released = suite.delete(f"/v1/privacy/holds/{hold['id']}", tenant, officer, ("admin",))
    assert released.status_code == 204
    assert suite.wait(tenant, erase(suite, tenant, subject)["id"])["status"] == "completed"


def test_only_officers_may_place_legal_holds(privacy_only):
    response = privacy_only().post(
        "/v1/privacy/holds", {"subject_id": new_id(), "reason": "x"}, new_id(), new_id(), ("agent",)
    )
    assert response.status_code == 403


def test_a_participant_that_keeps_failing_is_escalated(make_suite):
    suite = make_suite(PRIVACY_ESCALATE_AFTER_FAILURES=2)
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")
    request_id = erase(suite, tenant, subject)["id"]
    view = suite.wait(tenant, request_id, until=lambda v: v["escalations"])
    assert view["escalations"] == ["participant_failing:notes"]
    (envelope,) = suite.privacy_rows(
        "SELECT envelope FROM events WHERE event_type = 'privacy.request_escalated'"
    )[0]
    assert envelope["data"] == {
        **envelope["data"],
        "request_id": request_id,
        "reason": "participant_failing",
        "participants": ["notes"],
    }
