"""The shredding record privacy checks a restored database against: every tenant, in pages."""

import uuid

from tests.integration.audit.conftest import envelope
from tests.support.amqp import service_rpc


def shredding(tenant_id, subject_id, stream_id=None):
    return {
        **envelope(
            tenant_id,
            event_type="privacy.subject_key_shredded",
            stream_id=stream_id or f"subject-{subject_id}",
        ),
        "data": {"subject_id": subject_id},
        "actor": {"system": "privacy.saga"},
    }


def all_pages(audit, limit):
    found, after, pages = [], None, 0
    with service_rpc("audit", audit.cfg, caller="privacy") as proxy:
        while True:
            page = proxy.shredded_subjects(after, limit)
            found += [tuple(pair) for pair in page["subjects"]]
            pages += 1
            after = page["next"]
            if after is None:
                return found, pages


def test_every_tenants_shredded_subjects_come_back_in_pages(audit):
    tenants = [str(uuid.uuid4()) for _ in range(3)]
    expected = {(t, str(uuid.uuid4())) for t in tenants for _ in range(3)}
    audit.publish([shredding(t, s) for t, s in sorted(expected)])
    audit.publish([envelope(tenants[0])])  # other events are not shreddings
    audit.wait_for(len(expected) + 1)
    found, pages = all_pages(audit, limit=4)
    assert sorted(found) == sorted(expected) and pages == 3


def test_only_privacys_subject_streams_count_whatever_the_body_claims(audit, tenant_id):
    victim = str(uuid.uuid4())
    audit.publish([shredding(tenant_id, victim, stream_id=f"ticket-{uuid.uuid4()}")])
    audit.wait_for(1)
    assert all_pages(audit, limit=10) == ([], 1)
