"""Audit's ingest takes every actor the suite writes: a person, the service itself, and a
service account (a program of the tenant), and keeps it as received."""

import json
import uuid

import pytest

from services.audit import envelopes
from services.audit.exceptions import InvalidEnvelope
from shared.auth import new_service_account_id


def _envelope(actor):
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "ticketing.ticket_opened",
        "tenant_id": str(uuid.uuid4()),
        "stream_id": f"ticket-{uuid.uuid4()}",
        "stream_version": 1,
        "occurred_at": "2026-12-01T09:30:00+00:00",
        "actor": actor,
        "correlation_id": str(uuid.uuid4()),
        "data": {"priority": "p2"},
    }


@pytest.mark.parametrize(
    "actor",
    [
        {"user_id": str(uuid.uuid4()), "roles": ["agent"]},
        {"system": "ticketing-sla"},
        {"service_account": new_service_account_id()},
    ],
    ids=["person", "system", "service_account"],
)
def test_each_kind_of_actor_enters_a_chain_unchanged(actor):
    body = _envelope(actor)
    tenant_id, event_id = envelopes.check(body)
    assert (tenant_id, event_id) == (body["tenant_id"], body["event_id"])
    received = envelopes.parse(json.dumps(body), "ticketing")
    assert json.loads(received.canonical)["actor"] == actor


def test_an_actor_that_is_no_object_is_refused():
    with pytest.raises(InvalidEnvelope):
        envelopes.check(_envelope("service_account"))
