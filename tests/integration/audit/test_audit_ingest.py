"""Ingest: every envelope appended exactly once, in order, to its tenant's gap-free chain."""
import hashlib
import uuid

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
