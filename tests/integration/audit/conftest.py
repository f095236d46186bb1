"""Fixtures for the audit service tests: a running service, envelopes, publishing, waiting."""

import uuid

import psycopg
import pytest
import requests

from services.audit.service import AuditService
from tests.support import amqp, waiting


def envelope(tenant_id, number=1, event_type="ticketing.ticket_opened", stream_id=None):
    """An envelope as a service's relay publishes it, pii sealed (opaque ciphertext here)."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "tenant_id": tenant_id,
        "stream_id": stream_id or f"ticket-{uuid.uuid4()}",
        "stream_version": number,
        "occurred_at": "2025-03-01T09:30:00.250000+00:00",
        "actor": {"user_id": str(uuid.uuid4()), "roles": ["agent"]},
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "data": {"priority": "p2", "number": number},
        "pii": {"requester_name": {"subject_id": str(uuid.uuid4()), "ciphertext": "q83vEjRWeJA="}},
    }


def publish(amqp_uri, envelopes):
    """Publish envelopes to their service's exchange, as the outbox relay does (confirmed)."""
    amqp.publish(amqp_uri, envelopes)


def wait_until(predicate, timeout=20, message="timed out"):
    return waiting.wait_until(predicate, timeout, what=message)


def rows(urls, tenant_id=None, columns="seq, event_id::text, event_type"):
    """Raw audit rows read as the superuser (RLS does not apply to it)."""
    where, params = ("WHERE tenant_id = %s", (tenant_id,)) if tenant_id else ("", ())
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            f"SELECT {columns} FROM audit_entry {where} ORDER BY tenant_id, seq", params
        ).fetchall()


def count(urls, tenant_id=None):
    return len(rows(urls, tenant_id, "seq"))


class Running:
    def __init__(self, cfg, urls, container, token_issuer):
        self.cfg, self.urls, self.container, self.issuer = cfg, urls, container, token_issuer
        self.base = f"http://{cfg['WEB_SERVER_ADDRESS']}"

    def headers(self, tenant_id, roles=("compliance_officer",), **extra):
        return {**self.issuer.headers(tenant_id=tenant_id, roles=roles), **extra}

    def get(self, path, tenant_id, roles=("compliance_officer",), **kwargs):
        headers = {**self.headers(tenant_id, roles), **kwargs.pop("headers", {})}
        return requests.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def post(self, path, tenant_id, roles=("compliance_officer",)):
        return requests.post(self.base + path, headers=self.headers(tenant_id, roles), timeout=30)

    def publish(self, envelopes):
        publish(self.cfg["AMQP_URI"], envelopes)

    def wait_for(self, expected, tenant_id=None, timeout=20):
        wait_until(
            lambda: count(self.urls, tenant_id) >= expected,
            timeout,
            f"fewer than {expected} audit entries",
        )
        return count(self.urls, tenant_id)


@pytest.fixture
def start_audit(container_factory, service_config, token_issuer):
    """start_audit(**config) -> Running audit service (scheduled checkpoints off by default)."""

    def start(**overrides):
        cfg, urls = service_config("audit", **{"AUDIT_CHECKPOINT_INTERVAL": 0, **overrides})
        container = container_factory(AuditService, cfg)
        container.start()
        return Running(cfg, urls, container, token_issuer)

    return start


@pytest.fixture
def audit(start_audit):
    return start_audit()


@pytest.fixture
def tenant_id():
    return str(uuid.uuid4())
