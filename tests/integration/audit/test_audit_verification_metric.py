"""Each verification of a tenant's chain counts its outcome in
dzdesk_audit_verifications_total, as /metrics shows it: ok for a sound log, failed once the
log is tampered with."""

import psycopg

from tests.integration.audit.conftest import envelope
from tests.support.scrape import sample


def verifications(audit, outcome):
    found = sample(audit.base, "dzdesk_audit_verifications_total", service="audit", outcome=outcome)
    return found or 0


def test_a_verification_counts_ok_and_one_of_a_tampered_log_counts_failed(audit, tenant_id):
    audit.publish([envelope(tenant_id, n) for n in range(3)])
    audit.wait_for(3, tenant_id)
    assert audit.post("/v1/audit/checkpoints", tenant_id).json()["checkpoint"]["seq"] == 3
    ok, failed = verifications(audit, "ok"), verifications(audit, "failed")
    assert audit.get("/v1/audit/verify", tenant_id).json()["ok"]
    assert (verifications(audit, "ok"), verifications(audit, "failed")) == (ok + 1, failed)
    with psycopg.connect(audit.urls["admin"]) as conn:  # as an intruder would
        conn.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        conn.execute("DELETE FROM audit_entry WHERE seq = 2")
        conn.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    assert not audit.get("/v1/audit/verify", tenant_id).json()["ok"]
    assert (verifications(audit, "ok"), verifications(audit, "failed")) == (ok + 1, failed + 1)
