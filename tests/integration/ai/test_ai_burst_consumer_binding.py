"""ai's burst consumer binds its queue while the container starts, not on its loop's first
turn: an event published the moment `container.start()` returns is queued (not dropped by
the exchange for want of a binding) and handled once the loop runs."""

import uuid

import eventlet.event
import psycopg
from kombu import Exchange

from services.ai.service import AiService
from shared.batches import BatchEventConsumer
from shared.envelope import Envelope
from tests.support.amqp import as_user, confirming_connection, queue_depth
from tests.support.waiting import wait_until

QUEUE = "evt-ticketing-all--ai.handle_ticketing_event"


def test_an_event_published_right_after_the_container_starts_is_queued_and_handled(
    container_factory, service_config
):
    cfg, urls = service_config("ai", AI_AUTO_TRIAGE="false")
    tenant, ticket, agent = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    # nothing sealed (no key to fetch) and the publisher connected beforehand: nothing stands
    # between the container's start and the publish
    envelope = Envelope.new(
        "ticketing.ticket_assigned",
        tenant,
        f"ticket-{ticket}",
        {
            "assignee_id": agent,
            "group_id": None,
            "previous_assignee_id": None,
            "previous_group_id": None,
        },
        actor={"user_id": agent, "roles": ["agent"]},
    ).with_version(2)
    container = container_factory(AiService, cfg)
    (consumer,) = [e for e in container.entrypoints if isinstance(e, BatchEventConsumer)]
    # the race made certain: the consumer's loop takes its first turn only when let go
    gate, first_turn = eventlet.event.Event(), consumer.run_once

    def held_turn():
        if not gate.ready():
            gate.wait()
        return first_turn()

    consumer.run_once = held_turn
    connection = confirming_connection(as_user(cfg["AMQP_URI"], "ticketing"))
    connection.connect()
    try:
        container.start()
        connection.Producer(serializer="json").publish(
            envelope.to_dict(),
            exchange=Exchange("ticketing.events", type="topic", durable=True),
            routing_key="ticket_assigned",
            declare=[],
            delivery_mode=2,
            user_id="ticketing",
        )
    finally:
        connection.release()

    assert queue_depth(cfg["AMQP_URI"], QUEUE) == 1  # routed to the queue before any turn
    gate.send()

    def handled():
        with psycopg.connect(urls["admin"]) as conn:
            return conn.execute(
                "SELECT count(*) FROM inbox WHERE consumer = 'ai.handle_ticketing_event'"
            ).fetchone()[0]

    wait_until(lambda: handled() == 1, 20, "ai to handle the event published at its start")
