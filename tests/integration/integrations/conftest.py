"""integrations test rig: the service on its own, a local HTTPS receiver it trusts, and
envelopes published as their services would (integrations never opens their pii)."""

import uuid

import psycopg
import pytest
import requests

from services.integrations.service import IntegrationsService
from shared.crypto import FieldCipher, LocalKeyring
from shared.envelope import Envelope, person_actor
from tests.support.amqp import has_consumer, publish
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

QUEUE = "evt-identity+ticketing+privacy+audit+ai+integrations-all--integrations.handle_event"
TITLE = "Zoë Quaglia-Marchetti's laptop will not boot"
DESCRIPTION = "Call her on +39 06 5550 1234 or mail zoe.quaglia@example.org"


class Rig:
    def __init__(self, cfg, urls, container, tokens, receiver):
        self.cfg, self.urls, self.container = cfg, urls, container
        self.tokens, self.receiver = tokens, receiver
        self.cipher = FieldCipher(LocalKeyring())
        self.http = requests.Session()

    @property
    def base(self):
        return f"http://{self.cfg['WEB_SERVER_ADDRESS']}"

    def call(self, method, path, tenant_id, roles=("admin",), **kwargs):
        headers = {
            **self.tokens.headers(tenant_id=tenant_id, roles=roles),
            **kwargs.pop("headers", {}),
        }
        return self.http.request(method, self.base + path, headers=headers, timeout=60, **kwargs)

    def subscribe(self, tenant_id, path, events=("ticketing.*",), mode="ok"):
        """(webhook id, secret) of a new webhook pointing at the receiver's `path`."""
        answer = self.call(
            "POST",
            "/v1/webhooks",
            tenant_id,
            json={"url": self.receiver.url(path, mode), "events": list(events)},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"], answer.json()["secret"]

    def ticket_opened(self, tenant_id, ticket_id=None):
        ticket_id = ticket_id or str(uuid.uuid4())
        requester = str(uuid.uuid4())
        data = {
            "ticket_id": ticket_id,
            "requester_id": requester,
            "opened_by": requester,
            "type": "incident",
            "category": "hardware",
            "urgency": "high",
            "impact": "medium",
            "priority": "high",
            "critical": False,
            "watchers": [],
            "tags": ["laptop"],
        }
        pii = self.cipher.seal(
            tenant_id, {"title": (requester, TITLE), "description": (requester, DESCRIPTION)}
        )
        return self.publish(
            "ticketing.ticket_opened", tenant_id, f"ticket-{ticket_id}", data, pii, requester
        )

    def comment_added(self, tenant_id, ticket_id):
        author = str(uuid.uuid4())
        data = {"comment_id": str(uuid.uuid4()), "internal": False, "first_response": True}
        pii = self.cipher.seal(tenant_id, {"body": (author, DESCRIPTION)})
        return self.publish(
            "ticketing.comment_added", tenant_id, f"ticket-{ticket_id}", data, pii, author
        )

    def publish(self, event_type, tenant_id, stream_id, data, pii, user_id):
        envelope = Envelope.new(
            event_type,
            tenant_id,
            stream_id,
            data,
            pii=pii,
            actor=person_actor(user_id, ["agent"]),
        ).with_version(1)
        publish(self.cfg["AMQP_URI"], [envelope.to_dict()])
        return envelope

    def sql(self, query, *args):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(query, args).fetchall()

    def feed_size(self, tenant_id, prefix="ticketing."):
        """How many of the tenant's events of one service the feed holds."""
        return self.sql(
            "SELECT count(*) FROM feed WHERE tenant_id = %s AND starts_with(event_type, %s)",
            tenant_id,
            prefix,
        )[0][0]

    def visible(
        self, tenant_id, count, query="types=ticketing.ticket_opened,ticketing.comment_added"
    ):
        """The feed's items once it shows `count` (its rows show once every transaction older
        than theirs, in any database of the server, has ended: wait for that, not the table)."""
        return self.wait_until(
            lambda: (
                len(items := self.call("GET", f"/v1/events?{query}", tenant_id).json()["items"])
                == count
                and items
            ),
            what=f"{count} events in the feed",
        )

    def deliveries(self, tenant_id, webhook_id):
        answer = self.call("GET", f"/v1/webhooks/{webhook_id}/deliveries", tenant_id)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def wait_until(self, predicate, timeout=30, what="the condition"):
        return wait_until(predicate, timeout, what)


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def start_integrations(container_factory, service_config, token_issuer, receiver):
    """start_integrations(**config) -> Rig: the service, trusting the receiver's CA and
    allowed to reach 127.0.0.1, with a compressed retry schedule."""

    def start(**overrides):
        settings = {
            "INTEGRATIONS_ALLOWED_HOSTS": "127.0.0.1/32",
            "INTEGRATIONS_CA_BUNDLE": receiver.ca_bundle,
            "INTEGRATIONS_DISPATCH_INTERVAL": 0.05,
            "INTEGRATIONS_FEED_POLL_INTERVAL": 0.05,
            "INTEGRATIONS_RETRY_SCHEDULE": "0,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2",
            **overrides,
        }
        cfg, urls = service_config("integrations", **settings)
        container = container_factory(IntegrationsService, cfg)
        container.start()
        wait_until(lambda: has_consumer(cfg["AMQP_URI"], QUEUE), 30, "the event consumer")
        return Rig(cfg, urls, container, token_issuer, receiver)

    return start
