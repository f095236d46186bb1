import uuid

import psycopg
import pytest
from nameko.rpc import rpc  # a test stand-in: any caller

from services.privacy.service import PrivacyService
from shared.crypto import ERASED
from shared.db import Database
from shared.keys import SubjectKeys
from tests.support.amqp import service_rpc


class SealingService:
    """Any service that seals personal fields with subject keys from privacy."""

    name = "sealer"
    db = Database()
    cipher = SubjectKeys()

    @rpc
    def seal(self, tenant_id, subject_id, value):
        return self.cipher.seal(tenant_id, {"name": (subject_id, value)})

    @rpc
    def open(self, tenant_id, pii):
        return self.cipher.open(tenant_id, pii)["name"]


@pytest.fixture
def services(container_factory, service_config):
    cfg, urls = service_config("privacy")
    container_factory(PrivacyService, cfg).start()
    sealer_cfg, _ = service_config("probe")
    container_factory(SealingService, sealer_cfg).start()
    return cfg, urls


def test_wrapped_keys_are_stored_never_plain_and_a_value_round_trips(services):
    cfg, urls = services
    tenant, subject = str(uuid.uuid4()), str(uuid.uuid4())
    with service_rpc("sealer", cfg) as sealer:
        pii = sealer.seal(tenant, subject, "Ada Lovelace")
        assert "Ada" not in str(pii)
        assert sealer.open(tenant, pii) == "Ada Lovelace"
    with psycopg.connect(urls["admin"]) as conn:
        rows = conn.execute("SELECT wrapped_key, master_key_id FROM subject_keys").fetchall()
    assert len(rows) == 1 and len(bytes(rows[0][0])) > 32 and rows[0][1]


def test_after_shredding_every_cache_yields_the_erased_placeholder_at_once(services):
    cfg, urls = services
    tenant, subject, other = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with service_rpc("sealer", cfg) as sealer, service_rpc("privacy", cfg) as privacy:
        pii = sealer.seal(tenant, subject, "Grace Hopper")
        kept = sealer.seal(tenant, other, "Alan Turing")
        assert sealer.open(tenant, pii) == "Grace Hopper"  # now cached in the sealer
        assert privacy.shred_subject_key(tenant, subject, {"system": "test"}) is True
        assert privacy.shred_subject_key(tenant, subject, {"system": "test"}) is False
        deadline = __import__("time").monotonic() + 5
        while sealer.open(tenant, pii) != ERASED:
            assert __import__("time").monotonic() < deadline, "cache still holds the key"
        assert sealer.open(tenant, kept) == "Alan Turing"
        assert privacy.get_subject_key(tenant, subject, True) is None  # never a new key
    with psycopg.connect(urls["admin"]) as conn:
        event = conn.execute(
            "SELECT envelope FROM events WHERE event_type = 'privacy.subject_key_shredded'"
        ).fetchone()[0]
    assert event["data"] == {"subject_id": subject} and "pii" not in event
