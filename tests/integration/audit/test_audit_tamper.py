"""Verification through the API names the first bad seq of a log tampered with in the database."""

import hashlib
import json

import psycopg
import pytest

from tests.integration.audit.conftest import envelope


@pytest.fixture
def signed_log(audit, tenant_id):
    """Twelve entries: five events, a checkpoint at 5 (its event is 6), five more, one at 11
    (its event is 12)."""
    for head in (5, 11):
        audit.publish([envelope(tenant_id, n) for n in range(5)])
        audit.wait_for(head, tenant_id)
        assert audit.post("/v1/audit/checkpoints", tenant_id).json()["checkpoint"]["seq"] == head
        audit.wait_for(head + 1, tenant_id)
    return audit


def tamper(audit, statements):
    """Run SQL as the superuser with the append-only trigger off, as an intruder would."""
    with psycopg.connect(audit.urls["admin"]) as conn:
        conn.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        for statement, params in statements:
            conn.execute(statement, params)
        conn.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def verify(audit, tenant_id):
    return audit.get("/v1/audit/verify", tenant_id).json()


def test_an_altered_entry_is_named_as_the_first_bad_seq(signed_log, tenant_id):
    tamper(
        signed_log,
        [
            (
                "UPDATE audit_entry SET envelope = replace(envelope, '\"p2\"', '\"p1\"')"
                " WHERE seq = 3",
                None,
            )
        ],
    )
    result = verify(signed_log, tenant_id)
    assert (result["ok"], result["first_bad_seq"], result["entries"]) == (False, 3, 2)


def test_a_deleted_entry_is_named_as_the_first_bad_seq(signed_log, tenant_id):
    tamper(signed_log, [("DELETE FROM audit_entry WHERE seq = 8", None)])
    result = verify(signed_log, tenant_id)
    assert (result["ok"], result["first_bad_seq"]) == (False, 8)


def test_a_rehashed_tail_that_breaks_a_signed_checkpoint_is_caught_after_the_last_good_one(
    signed_log, tenant_id
):
    with psycopg.connect(signed_log.urls["admin"]) as conn:
        entries = conn.execute(
            "SELECT seq, envelope, prev_hash FROM audit_entry WHERE seq >= 8 ORDER BY seq"
        ).fetchall()
    statements, prev = [], bytes(entries[0][2])
    for seq, text, _ in entries:
        if seq == 8:
            altered = json.loads(text)
            altered["data"]["priority"] = "p4"
            text = json.dumps(altered, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(prev + text.encode()).digest()
        statements.append(
            (
                "UPDATE audit_entry SET envelope = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                (text, prev, digest, seq),
            )
        )
        prev = digest
    tamper(signed_log, statements)

    result = verify(signed_log, tenant_id)
    assert (result["ok"], result["first_bad_seq"], result["checkpoints_verified"]) == (False, 6, 1)
