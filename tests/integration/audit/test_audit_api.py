"""The compliance officer's API: ordered pages, filters, NDJSON streams, checkpoints, roles."""

import json
import uuid

from services.audit.checkpoints import Checkpoint, verify_checkpoint
from shared.jwk import key_from_jwk
from tests.integration.audit.conftest import envelope, rows

NDJSON = {"Accept": "application/x-ndjson"}


def fill(audit, tenant_id, count, **kwargs):
    sent = [envelope(tenant_id, n, **kwargs) for n in range(1, count + 1)]
    audit.publish(sent)
    audit.wait_for(count, tenant_id)
    return sent


def test_pages_follow_the_cursor_through_the_whole_log_in_seq_order(audit, tenant_id):
    sent = fill(audit, tenant_id, 20)
    seen, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = audit.get("/v1/audit/events", tenant_id, params=params).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [item["seq"] for item in seen] == list(range(1, 21))
    assert [item["envelope"] for item in seen] == sent


def test_events_can_be_filtered_by_type_stream_and_seq(audit, tenant_id):
    fill(audit, tenant_id, 6)
    other = envelope(tenant_id, 7, event_type="privacy.policy_published", stream_id="policy-1")
    audit.publish([other])
    audit.wait_for(7, tenant_id)

    by_type = audit.get(
        "/v1/audit/events", tenant_id, params={"event_type": "privacy.policy_published"}
    ).json()["items"]
    by_stream = audit.get("/v1/audit/events", tenant_id, params={"stream_id": "policy-1"}).json()
    after = audit.get("/v1/audit/events", tenant_id, params={"after_seq": 4}).json()["items"]
    assert [item["event_id"] for item in by_type] == [other["event_id"]]
    assert [item["seq"] for item in by_stream["items"]] == [7]
    assert [item["seq"] for item in after] == [5, 6, 7]


def test_an_ndjson_request_streams_the_stored_log_line_by_line(audit, tenant_id):
    fill(audit, tenant_id, 25)
    response = audit.get("/v1/audit/events", tenant_id, headers=NDJSON, stream=True)
    lines = [json.loads(line) for line in response.iter_lines() if line]

    stored = rows(audit.urls, tenant_id, "seq, envelope, hash")
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert [(line["seq"], line["hash"]) for line in lines] == [
        (seq, bytes(hash).hex()) for seq, _, hash in stored
    ]
    assert [line["envelope"] for line in lines] == [json.loads(text) for _, text, _ in stored]


def test_a_bad_filter_is_a_problem_with_the_field(audit, tenant_id):
    response = audit.get("/v1/audit/events", tenant_id, params={"after_seq": "minus one"})
    assert response.status_code == 400
    assert "after_seq" in response.json()["errors"]


def test_only_compliance_officers_may_read_the_log(audit, tenant_id):
    for path in ("/v1/audit/events", "/v1/audit/verify", "/v1/audit/checkpoints/latest"):
        assert audit.get(path, tenant_id, roles=("agent", "admin")).status_code == 403
        assert audit.get(path, tenant_id, headers={"Authorization": ""}).status_code == 401


def test_an_officer_sees_nothing_of_another_tenants_log(audit, tenant_id):
    fill(audit, tenant_id, 3)
    stranger = str(uuid.uuid4())
    assert audit.get("/v1/audit/events", stranger).json()["items"] == []
    assert audit.get("/v1/audit/verify", stranger).json()["entries"] == 0
    assert audit.get("/v1/audit/checkpoints/latest", stranger).status_code == 404


def test_a_checkpoint_on_demand_signs_the_head_and_is_served_with_its_public_key(audit, tenant_id):
    fill(audit, tenant_id, 5)
    created = audit.post("/v1/audit/checkpoints", tenant_id)
    latest = audit.get("/v1/audit/checkpoints/latest", tenant_id).json()

    head = rows(audit.urls, tenant_id, "seq, hash")[4]
    checkpoint = Checkpoint.from_dict(latest["checkpoint"])
    assert created.status_code == 201
    assert (checkpoint.seq, checkpoint.hash) == (5, bytes(head[1]).hex())
    assert verify_checkpoint(checkpoint, key_from_jwk(latest["public_key"]))
    keys = audit.get("/v1/audit/keys", tenant_id).json()["keys"]
    assert latest["public_key"] in keys


def test_asking_again_for_a_checkpoint_of_a_signed_head_returns_the_same_one(audit, tenant_id):
    fill(audit, tenant_id, 2)
    first = audit.post("/v1/audit/checkpoints", tenant_id).json()["checkpoint"]
    again = audit.post("/v1/audit/checkpoints", tenant_id)
    assert again.status_code == 200
    assert again.json()["checkpoint"] == first


def test_the_checkpoint_is_announced_by_an_event_without_personal_data(audit, tenant_id):
    fill(audit, tenant_id, 2)
    checkpoint = audit.post("/v1/audit/checkpoints", tenant_id).json()["checkpoint"]
    audit.wait_for(3, tenant_id)

    (text,) = rows(audit.urls, tenant_id, "envelope")[2]
    announced = json.loads(text)
    assert announced["event_type"] == "audit.checkpoint_signed"
    assert announced["actor"] == {"system": "audit"}
    assert "pii" not in announced
    assert announced["data"] == {
        name: checkpoint[name] for name in ("seq", "hash", "key_id", "signature", "signed_at")
    }


def test_verification_of_an_intact_log_reports_its_head_and_checkpoints(audit, tenant_id):
    fill(audit, tenant_id, 4)
    audit.post("/v1/audit/checkpoints", tenant_id)
    audit.wait_for(5, tenant_id)

    result = audit.get("/v1/audit/verify", tenant_id).json()
    seq, hash = rows(audit.urls, tenant_id, "seq, hash")[-1]
    assert {
        key: result[key]
        for key in ("ok", "entries", "head", "checkpoints_verified", "first_bad_seq")
    } == {
        "ok": True,
        "entries": 5,
        "head": {"seq": seq, "hash": bytes(hash).hex()},
        "checkpoints_verified": 1,
        "first_bad_seq": None,
    }


def test_another_tenant_replaying_a_cursor_gets_a_400_and_nothing_of_the_tenant(audit, tenant_id):
    sent = fill(audit, tenant_id, 3)
    other = str(uuid.uuid4())
    fill(audit, other, 3)
    cursor = audit.get("/v1/audit/events", tenant_id, params={"limit": 1}).json()["next_cursor"]
    for headers in ({}, NDJSON):
        replayed = audit.get("/v1/audit/events", other, params={"cursor": cursor}, headers=headers)
        assert replayed.status_code == 400, replayed.text
        assert not any(envelope["event_id"] in replayed.text for envelope in sent)
