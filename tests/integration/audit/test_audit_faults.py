"""Faults mid-stream: broker connections cut, the audit process killed mid-batch. Nothing is
lost and nothing is duplicated."""

import pytest

from services.audit.ingest import Ingestor
from services.audit.settings import AuditSettings
from tests.integration.audit.conftest import count, envelope, publish, rows, wait_until
from tests.support import amqp, run_service, waiting
from tests.support.amqp import cut_connections

pytestmark = pytest.mark.slow
QUEUE = "audit.ingest"


def assert_exactly(audit_urls, tenant_id, sent):
    stored = rows(audit_urls, tenant_id)
    assert [seq for seq, _, _ in stored] == list(range(1, len(sent) + 1))
    assert sorted(event_id for _, event_id, _ in stored) == sorted(b["event_id"] for b in sent)


def test_cut_broker_connections_mid_stream_lose_and_duplicate_nothing(
    start_audit, tenant_id, rabbit_manager
):
    audit = start_audit(AUDIT_BATCH_SIZE=50)
    sent = [envelope(tenant_id, n) for n in range(1, 3001)]
    audit.publish(sent[:1500])
    wait_until(lambda: count(audit.urls, tenant_id) > 0)
    committed_before_cut = count(audit.urls, tenant_id)
    assert committed_before_cut < len(sent), "the cut came too late to test anything"
    cut_connections(rabbit_manager, audit.cfg["vhost"])
    audit.publish(sent[1500:])
    audit.wait_for(3000, tenant_id, timeout=60)
    settle(rabbit_manager, audit.cfg, acked=3000)

    assert_exactly(audit.urls, tenant_id, sent)


def start_process(cfg):
    return run_service.start_process(
        "services.audit.service:AuditService", cfg, consumed_queue="audit.ingest"
    )


def settle(rabbit_manager, cfg, acked):
    """Waits until audit acknowledged every delivery and none is left in its queue: from then
    on no duplicate can be appended."""
    waiting.wait_until(
        lambda: amqp.settled(rabbit_manager, cfg["vhost"], [QUEUE], acked),
        timeout=60,
        what="audit's ingest queue to settle",
    )


def test_an_audit_process_killed_mid_batch_loses_and_duplicates_nothing(
    service_config, tenant_id, rabbit_manager
):
    cfg, urls = service_config("audit", AUDIT_CHECKPOINT_INTERVAL=0, AUDIT_BATCH_SIZE=100)
    sent = [envelope(tenant_id, n) for n in range(1, 5001)]
    # the backlog is queued before audit starts, so the kill surely lands mid-stream
    Ingestor.of(AuditSettings.load(cfg)).declare()
    publish(cfg["AMQP_URI"], sent)
    first = run_service.start_process("services.audit.service:AuditService", cfg)
    try:
        wait_until(lambda: count(urls, tenant_id) > 0, timeout=30)
        first.kill()  # SIGKILL: bursts in flight are neither committed nor acked, or not acked
        assert first.wait() == -9, "the audit process was not killed"
        assert count(urls, tenant_id) < len(sent), "the kill came too late to test anything"
        second = start_process(cfg)
        try:
            wait_until(lambda: count(urls, tenant_id) >= len(sent), timeout=60)
            settle(rabbit_manager, cfg, acked=len(sent))
            assert_exactly(urls, tenant_id, sent)
        finally:
            second.terminate()
            second.wait()
    finally:
        if first.poll() is None:
            first.kill()
