"""Ingest: every envelope appended exactly once, in order, to its tenant's gap-free chain."""

import hashlib
import uuid

import psycopg

from services.audit.chain import GENESIS_HASH, canonical_json
from tests.integration.audit.conftest import envelope, rows, wait_until
from tests.support.amqp import drain


def test_published_envelopes_form_a_gap_free_chain_of_canonical_hashes(audit, tenant_id):
    sent = [envelope(tenant_id, n) for n in range(1, 31)]
    audit.publish(sent)
    audit.wait_for(30)

    stored = rows(audit.urls, tenant_id, "seq, envelope, prev_hash, hash")
    assert [row[0] for row in stored] == list(range(1, 31))
    prev = bytes.fromhex(GENESIS_HASH)
    for body, (_, text, prev_hash, hash) in zip(sent, stored):
        assert text.encode() == canonical_json(body)
        assert bytes(prev_hash) == prev
        assert bytes(hash) == hashlib.sha256(prev + canonical_json(body)).digest()
        prev = bytes(hash)


def test_a_redelivered_event_is_appended_once(audit, tenant_id):
    first, second = envelope(tenant_id, 1), envelope(tenant_id, 2)
    audit.publish([first, first])
    audit.wait_for(1)
    audit.publish([first, second])
    audit.wait_for(2)

    stored = rows(audit.urls, tenant_id)
    assert [(seq, event_id) for seq, event_id, _ in stored] == [
        (1, first["event_id"]),
        (2, second["event_id"]),
    ]


def test_each_tenant_has_its_own_gap_free_chain_in_publish_order(audit):
    tenants = [str(uuid.uuid4()) for _ in range(3)]
    sent = [envelope(tenants[n % 3], n, stream_id=f"ticket-{tenants[n % 3]}") for n in range(1, 61)]
    audit.publish(sent)
    audit.wait_for(60)

    for tenant in tenants:
        stored = rows(audit.urls, tenant)
        expected = [body["event_id"] for body in sent if body["tenant_id"] == tenant]
        assert [seq for seq, _, _ in stored] == list(range(1, 21))
        assert [event_id for _, event_id, _ in stored] == expected


def test_events_of_every_configured_source_are_appended(start_audit, tenant_id):
    # probe: a service beyond the five, with a broker user and exchange of its own
    audit = start_audit(AUDIT_SOURCES="identity,ticketing,privacy,audit,ai,probe")
    types = [
        "identity.user_signed_in",
        "ticketing.ticket_opened",
        "privacy.policy_published",
        "ai.summary_generated",
        "probe.invoice_sent",
    ]
    audit.publish([envelope(tenant_id, n, event_type) for n, event_type in enumerate(types, 1)])
    audit.wait_for(5)

    assert [event_type for _, _, event_type in rows(audit.urls, tenant_id)] == types


def test_an_invalid_envelope_is_dead_lettered_and_the_rest_of_its_burst_appended(audit, tenant_id):
    good = envelope(tenant_id, 1)
    broken = {**envelope(tenant_id, 2), "tenant_id": "not-a-uuid"}
    audit.publish([broken, good])
    audit.wait_for(1)

    dead = drain(audit.cfg["AMQP_URI"], "audit.ingest.dlq", expect=1, timeout=10)
    assert [body["event_id"] for body, _ in dead] == [broken["event_id"]]
    assert "tenant_id is not a UUID" in dead[0][1]["x-last-error"]
    assert [event_id for _, event_id, _ in rows(audit.urls, tenant_id)] == [good["event_id"]]


def test_personal_fields_are_stored_as_the_ciphertext_received(audit, tenant_id):
    sent = envelope(tenant_id)
    audit.publish([sent])
    audit.wait_for(1)

    ((text,),) = rows(audit.urls, tenant_id, "envelope")
    assert '"ciphertext":"q83vEjRWeJA="' in text
    assert text.encode() == canonical_json(sent)


def checkpointed(urls, tenant_id):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT coalesce(max(seq), 0) FROM audit_checkpoint WHERE tenant_id = %s", (tenant_id,)
        ).fetchone()[0]


def seq_of(urls, tenant_id, number):
    """The seq of the tenant's entry carrying `number`, or an unreachable seq before it is in."""
    with psycopg.connect(urls["admin"]) as conn:
        found = conn.execute(
            "SELECT seq FROM audit_entry WHERE tenant_id = %s AND"
            " envelope::jsonb->'data'->>'number' = %s",
            (tenant_id, str(number)),
        ).fetchone()
    return found[0] if found else float("inf")


def test_audits_own_checkpoint_events_are_appended_without_causing_more_checkpoints(
    start_audit, tenant_id
):
    audit = start_audit(AUDIT_CHECKPOINT_INTERVAL=0.1)
    audit.publish([envelope(tenant_id, n) for n in range(1, 4)])
    audit.wait_for(4)  # three events, then the checkpoint_signed event of their checkpoint
    wait_until(lambda: rows(audit.urls, tenant_id)[-1][2] == "audit.checkpoint_signed")
    # Rounds run one after the other. A round that signs another tenant's entry published
    # after that one is signed began after this tenant's checkpoint event was in: a round
    # that would sign this tenant again has finished when it does.
    other = str(uuid.uuid4())
    for number in (1, 2):
        audit.publish([envelope(other, number)])
        wait_until(
            lambda number=number: (
                checkpointed(audit.urls, other) >= seq_of(audit.urls, other, number)
            ),
            message=f"a scheduled checkpoint over the other tenant's entry {number}",
        )

    stored = rows(audit.urls, tenant_id)
    assert [event_type for _, _, event_type in stored][-1] == "audit.checkpoint_signed"
    assert len(stored) == 4
    with psycopg.connect(audit.urls["admin"]) as conn:
        assert conn.execute(
            "SELECT seq FROM audit_checkpoint WHERE tenant_id = %s", (tenant_id,)
        ).fetchall() == [(3,)]


def test_bursts_appended_while_the_next_is_gathered_keep_every_chain_in_publish_order(
    start_audit,
):
    # small bursts: dozens of them, each appended while the next one arrives
    audit = start_audit(AUDIT_BATCH_SIZE=25, AUDIT_BATCH_MS=5)
    tenants = [str(uuid.uuid4()) for _ in range(3)]
    sent = [envelope(tenants[n % 3], n) for n in range(1, 1501)]
    for start in range(0, len(sent), 100):
        audit.publish(sent[start : start + 100])
    audit.wait_for(1500, timeout=60)

    for tenant in tenants:
        stored = rows(audit.urls, tenant)
        expected = [body["event_id"] for body in sent if body["tenant_id"] == tenant]
        assert [seq for seq, _, _ in stored] == list(range(1, 501))
        assert [event_id for _, event_id, _ in stored] == expected
