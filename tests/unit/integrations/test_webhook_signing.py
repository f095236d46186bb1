"""Deliveries are signed per Standard Webhooks: the `standardwebhooks` library verifies them."""

import base64
import datetime
import json
import time
import uuid

import pytest
import standardwebhooks

from services.integrations import signing
from services.integrations.delivery import body_of
from shared.crypto import CipherError

MASTER = base64.b64encode(b"k" * 32).decode()


def test_the_secret_is_whsec_and_base64_of_32_random_bytes():
    raw, shown = signing.new_secret()
    assert shown.startswith("whsec_")
    assert base64.b64decode(shown.removeprefix("whsec_")) == raw
    assert len(raw) == 32
    assert signing.new_secret()[0] != raw


def test_a_signed_delivery_verifies_with_standardwebhooks():
    raw, shown = signing.new_secret()
    message_id = str(uuid.uuid4())
    body = body_of({"type": "ticketing.ticket_opened", "data": {"ticket_id": str(uuid.uuid4())}})
    headers = signing.headers(raw, message_id, body)
    verified = standardwebhooks.Webhook(shown).verify(body, headers)
    assert verified == json.loads(body)
    assert headers["webhook-id"] == message_id
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5


def test_the_signature_matches_the_librarys_own_signing():
    raw, shown = signing.new_secret()
    now = int(time.time())
    body = b'{"a":1}'
    expected = standardwebhooks.Webhook(shown).sign(
        "msg_1", datetime.datetime.fromtimestamp(now, datetime.UTC), body
    )
    assert signing.signature(raw, "msg_1", now, body) == expected


@pytest.mark.parametrize("part", ["body", "id", "timestamp", "secret"])
def test_a_tampered_delivery_does_not_verify(part):
    raw, shown = signing.new_secret()
    body = b'{"type":"ticketing.ticket_opened"}'
    headers = signing.headers(raw, "msg_1", body)
    if part == "body":
        body = b'{"type":"ticketing.ticket_closed"}'
    elif part == "id":
        headers["webhook-id"] = "msg_2"
    elif part == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        shown = signing.new_secret()[1]
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(shown).verify(body, headers)


def test_an_old_timestamp_is_refused_by_the_verifier():
    raw, shown = signing.new_secret()
    body = b"{}"
    headers = signing.headers(raw, "msg_1", body, now=time.time() - 3600)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(shown).verify(body, headers)


def test_a_secret_is_stored_sealed_and_bound_to_its_tenant_and_webhook():
    box = signing.SecretBox(MASTER)
    raw, _ = signing.new_secret()
    tenant, webhook = str(uuid.uuid4()), str(uuid.uuid4())
    sealed = box.seal(tenant, webhook, raw)
    assert raw not in sealed
    assert box.open(tenant, webhook, sealed) == raw
    with pytest.raises(CipherError):
        box.open(str(uuid.uuid4()), webhook, sealed)
    with pytest.raises(CipherError):
        box.open(tenant, str(uuid.uuid4()), sealed)
    other = signing.SecretBox(base64.b64encode(b"o" * 32).decode())
    with pytest.raises(CipherError):
        other.open(tenant, webhook, sealed)
