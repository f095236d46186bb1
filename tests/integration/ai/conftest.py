"""ai test rig: privacy and ai running, a stand-in identity, ticketing envelopes from decide()."""

import datetime
import uuid

import psycopg
import pytest
from kombu import Exchange
from nameko.rpc import rpc  # a test stand-in: any caller

from services.ai.service import AiService
from services.privacy.service import PrivacyService
from services.ticketing.domain import (
    Actor,
    AddComment,
    OpenTicket,
    RecordedEvent,
    SetPriority,
    Transition,
    UpdateTicket,
    decide,
    evolve,
)
from shared.crypto import FieldCipher, KeyCache
from shared.envelope import Envelope
from shared.keys import RemoteKeyring
from tests.support.amqp import as_user, confirming_connection, service_rpc
from tests.support.waiting import wait_until

URGENCY_IMPACT = {"low": ("low", "low"), "medium": ("medium", "medium"), "high": ("high", "high")}


class DirectoryIdentity:
    """A stand-in for identity answering only what ai asks, from fixed data set by the test."""

    name = "identity"
    users = {}  # tenant_id -> [{id, name, email, roles}]

    @rpc
    def list_users(self, tenant_id):
        return DirectoryIdentity.users.get(tenant_id, [])

    @rpc
    def get_users(self, tenant_id, user_ids):
        return [u for u in DirectoryIdentity.users.get(tenant_id, []) if u["id"] in user_ids]


class Ticketing:
    """Publishes ticketing envelopes as the ticketing service would: decide(), seal pii, publish."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.keyring = RemoteKeyring({"AMQP_URI": amqp_uri})
        self.cipher = FieldCipher(KeyCache(self.keyring))
        self.connection = confirming_connection(amqp_uri)
        self.producer = self.connection.Producer(serializer="json")
        self.exchange = Exchange("ticketing.events", type="topic", durable=True)
        self.streams = {}  # (tenant, ticket) -> ticket state
        self.published = 0

    def close(self):
        self.keyring.stop()
        self.connection.release()

    def run(self, tenant_id, ticket_id, command, actor):
        state = self.streams.get((tenant_id, ticket_id))
        now = datetime.datetime.now(datetime.UTC)
        for new in decide(state, command, now):
            version = (state.version if state else 0) + 1
            pii = self.cipher.seal(
                tenant_id,
                {field: (value["subject_id"], value["value"]) for field, value in new.pii.items()},
            )
            envelope = Envelope.new(
                f"ticketing.{new.type}",
                tenant_id,
                ticket_id,
                new.data,
                pii=pii,
                actor={"user_id": actor.user_id, "roles": sorted(actor.roles)},
            ).with_version(version)
            self.producer.publish(
                envelope.to_dict(),
                exchange=self.exchange,
                routing_key=new.type,
                declare=[self.exchange],
                retry=True,
                user_id="ticketing",
            )
            self.published += 1
            plain = {field: value["value"] for field, value in new.pii.items()}
            state = evolve(
                state, RecordedEvent(new.type, new.data, plain, version, now, actor.user_id)
            )
        self.streams[(tenant_id, ticket_id)] = state
        return state

    def open(
        self,
        tenant_id,
        ticket_id,
        requester_id,
        title,
        description,
        *,
        agent=None,
        category=None,
        priority="medium",
    ):
        """Opened by the requester, or by an agent on their behalf with a category and priority."""
        actor = (
            Actor(agent, frozenset({"agent"}))
            if agent
            else Actor(requester_id, frozenset({"requester"}))
        )
        urgency, impact = URGENCY_IMPACT.get(priority, ("high", "high"))
        return self.run(
            tenant_id,
            ticket_id,
            OpenTicket(
                actor=actor,
                ticket_id=ticket_id,
                type="incident",
                title=title,
                description=description,
                urgency=urgency,
                impact=impact,
                critical=priority == "critical" and agent is not None,
                category=category,
                requester_id=requester_id,
            ),
            actor,
        )

    def open_corpus_ticket(self, ticket, agent_id, *, labelled=True):
        if labelled:
            return self.open(
                ticket.tenant_id,
                ticket.ticket_id,
                ticket.requester.subject_id,
                ticket.title,
                ticket.description,
                agent=agent_id,
                category=ticket.category,
                priority=ticket.priority,
            )
        return self.open(
            ticket.tenant_id,
            ticket.ticket_id,
            ticket.requester.subject_id,
            ticket.title,
            ticket.description,
        )

    def comment(self, tenant_id, ticket_id, author_id, body, roles=("agent",)):
        actor = Actor(author_id, frozenset(roles))
        return self.run(
            tenant_id,
            ticket_id,
            AddComment(actor=actor, comment_id=str(uuid.uuid4()), body=body),
            actor,
        )

    def categorize(self, tenant_id, ticket_id, agent_id, category):
        actor = Actor(agent_id, frozenset({"agent"}))
        return self.run(tenant_id, ticket_id, UpdateTicket(actor=actor, category=category), actor)

    def set_priority(self, tenant_id, ticket_id, agent_id, urgency, impact):
        actor = Actor(agent_id, frozenset({"agent"}))
        return self.run(
            tenant_id, ticket_id, SetPriority(actor=actor, urgency=urgency, impact=impact), actor
        )

    def resolve(self, tenant_id, ticket_id, agent_id, note):
        actor = Actor(agent_id, frozenset({"agent"}))
        self.run(tenant_id, ticket_id, Transition(actor=actor, to="in_progress"), actor)
        return self.run(
            tenant_id, ticket_id, Transition(actor=actor, to="resolved", note=note), actor
        )


class Rig:
    def __init__(self, cfg, urls, container, ticketing, token_issuer):
        self.cfg, self.urls, self.container = cfg, urls, container
        self.ticketing, self.tokens = ticketing, token_issuer

    @property
    def base(self):
        return f"http://{self.cfg['WEB_SERVER_ADDRESS']}/v1/ai"

    def headers(self, tenant_id, roles=("agent",), user_id=None):
        return self.tokens.headers(tenant_id=tenant_id, roles=roles, user_id=user_id)

    def handled(self):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(
                "SELECT count(*) FROM inbox WHERE consumer = 'ai.handle_ticketing_event'"
            ).fetchone()[0]

    def wait_until(self, predicate, timeout=30, what="condition"):
        wait_until(predicate, timeout, what)

    def wait_for_events(self, timeout=60):
        wait_until(
            lambda: self.handled() >= self.ticketing.published, timeout, "ai to handle events"
        )

    def rpc(self, service="ai"):
        return service_rpc(service, self.cfg)

    def raw(self, query, *args):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture
def directory():
    """tenant_id -> users the stand-in identity's list_users answers (test modules cannot import
    conftest)."""
    yield DirectoryIdentity.users
    DirectoryIdentity.users.clear()


@pytest.fixture
def start_ai(container_factory, service_config, token_issuer):
    """start_ai(**config) -> Rig: privacy, the stand-in identity and ai on one vhost."""
    opened = []

    def start(identity=True, **overrides):
        privacy_cfg, _ = service_config("privacy")
        container_factory(PrivacyService, privacy_cfg).start()
        if identity:  # the stand-in logs in as identity, whose place it takes
            container_factory(
                DirectoryIdentity,
                {**privacy_cfg, "AMQP_URI": as_user(privacy_cfg["AMQP_URI"], "identity")},
            ).start()
        cfg, urls = service_config("ai", AMQP_URI=privacy_cfg["AMQP_URI"], **overrides)
        container = container_factory(AiService, cfg)
        container.start()
        ticketing = Ticketing(as_user(cfg["AMQP_URI"], "ticketing"))
        opened.append(ticketing)
        return Rig(cfg, urls, container, ticketing, token_issuer)

    yield start
    for ticketing in opened:
        ticketing.close()
