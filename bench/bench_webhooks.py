"""Webhook deliveries from events: throughput, and event publish to delivery latency.

The integrations service runs in a process of its own with its production defaults (dispatch
interval, per-endpoint limits), allowed to reach the local HTTPS receiver; ENDPOINTS webhooks
of one tenant subscribe to ticketing's events, and EVENTS ticket_opened envelopes are
published as ticketing's relay would. Throughput counts signed deliveries answered 2xx per
second from the first publish to the last delivery; latency is each delivery's arrival after
its event was published (p99).
"""

import json
import time
import uuid

import requests

from bench.common import percentiles, row, stop_service
from shared.crypto import FieldCipher, LocalKeyring
from shared.envelope import Envelope, person_actor

ENDPOINTS = 10
EVENTS = 200
QUEUE = "evt-identity+ticketing+privacy+audit+ai+integrations-all--integrations.handle_event"


def _ticket_opened(cipher, tenant_id):
    ticket_id, requester = str(uuid.uuid4()), str(uuid.uuid4())
    data = {
        "ticket_id": ticket_id,
        "requester_id": requester,
        "opened_by": requester,
        "type": "incident",
        "category": "hardware",
        "urgency": "low",
        "impact": "low",
        "priority": "low",
        "critical": False,
        "watchers": [],
        "tags": [],
    }
    pii = cipher.seal(tenant_id, {"title": (requester, "A title"), "description": (requester, "")})
    return Envelope.new(
        "ticketing.ticket_opened",
        tenant_id,
        f"ticket-{ticket_id}",
        data,
        pii=pii,
        actor=person_actor(requester, ["requester"]),
    ).with_version(1)


def run(env):
    from tests.support.amqp import publish
    from tests.support.tokens import TokenIssuer
    from tests.support.webhook_receiver import WebhookReceiver

    db, amqp_uri = env.make_database("integrations"), env.make_vhost()
    issuer, receiver = TokenIssuer(), WebhookReceiver()
    cfg = env.service_config(
        "integrations",
        db,
        amqp_uri,
        INTEGRATIONS_ALLOWED_HOSTS="127.0.0.1/32",
        INTEGRATIONS_CA_BUNDLE=receiver.ca_bundle,
        **issuer.config,
    )
    process = start_service_consuming(cfg)
    tenant = str(uuid.uuid4())
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    try:
        headers = issuer.headers(tenant_id=tenant, roles=("admin",))
        for i in range(ENDPOINTS):
            requests.post(
                f"{base}/v1/webhooks",
                headers=headers,
                json={"url": receiver.url(f"/bench/{i}"), "events": ["ticketing.*"]},
                timeout=30,
            ).raise_for_status()
        cipher = FieldCipher(LocalKeyring())
        envelopes = [_ticket_opened(cipher, tenant) for _ in range(EVENTS)]
        published = {}
        started = time.monotonic()
        for envelope in envelopes:
            publish(env.as_user(amqp_uri, "ticketing"), [envelope.to_dict()])
            published[envelope.event_id] = time.monotonic()
        expected = ENDPOINTS * EVENTS
        deadline = time.monotonic() + 600
        while len(receiver.received) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(receiver.received)} of {expected} deliveries arrived")
            time.sleep(0.05)
        received = list(receiver.received)
        elapsed = max(item.at for item in received) - started
        delays = [item.at - published[json.loads(item.body)["id"]] for item in received]
    finally:
        stop_service(process)
        receiver.close()
        issuer.close()
    return [
        row("webhooks.throughput", expected / elapsed, "deliveries/s"),
        row("webhooks.delivery_p99_s", percentiles(delays)["p99"], "s"),
    ]


def start_service_consuming(cfg):
    from tests.support.run_service import start_process

    return start_process(
        "services.integrations.service:IntegrationsService", cfg, consumed_queue=QUEUE, timeout=60
    )
