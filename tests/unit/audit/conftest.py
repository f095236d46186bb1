"""Fixtures for the audit core tests: a tenant, a signing key and a freshly built chain."""

import datetime
import json
import uuid

import pytest

from services.audit.chain import GENESIS_HASH, ChainBuilder
from services.audit.checkpoints import sign_checkpoint
from services.audit.signing import generate_private_key


def make_envelope(tenant_id, number):
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "ticketing.ticket_opened",
        "schema_version": 1,
        "tenant_id": tenant_id,
        "stream_id": f"ticket-{uuid.uuid4()}",
        "stream_version": number,
        "occurred_at": "2025-03-01T09:30:00.250000+00:00",
        "actor": {"user_id": str(uuid.uuid4()), "roles": ["agent"]},
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "data": {"ticket_id": str(uuid.uuid4()), "priority": "p2", "number": number},
        "pii": {"subject_id": str(uuid.uuid4()), "ciphertext": "c2VjcmV0" * 8},
    }


def _stored_line(tenant_id, entry):
    return json.dumps(
        {
            "tenant_id": tenant_id,
            "seq": entry.seq,
            "event_id": entry.envelope["event_id"],
            "envelope": entry.envelope,
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
            "recorded_at": "2025-03-01T09:30:01+00:00",
        }
    ).encode("utf-8")


@pytest.fixture
def tenant_id():
    return str(uuid.uuid4())


@pytest.fixture
def build_log(tenant_id):
    """A fresh chain of `count` entries for the tenant."""

    def build(count):
        builder = ChainBuilder(0, GENESIS_HASH)
        return [builder.append(make_envelope(tenant_id, n)) for n in range(1, count + 1)]

    return build


@pytest.fixture
def stored_line(tenant_id):
    """One NDJSON line (bytes, no newline) as the audit service serves and replay writes it."""
    return lambda entry: _stored_line(tenant_id, entry)


@pytest.fixture
def signing_key():
    return generate_private_key()


@pytest.fixture
def key_id():
    return f"audit-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sign(signing_key, key_id, tenant_id):
    """Sign the chain at one entry, as the audit service does at intervals."""

    def sign_at(entry, key=None, kid=None, tenant=None):
        return sign_checkpoint(
            key or signing_key,
            kid or key_id,
            tenant or tenant_id,
            entry.seq,
            entry.hash,
            datetime.datetime.now(datetime.UTC),
        )

    return sign_at


@pytest.fixture
def public_keys(signing_key, key_id):
    return {key_id: signing_key.public_key()}
