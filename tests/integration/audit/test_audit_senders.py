"""Audit takes an event only from the service that owns its name; forgeries are dead-lettered."""

import amqp.exceptions
import pytest
from kombu import Exchange

from shared.broker import with_user
from tests.integration.audit.conftest import envelope, rows
from tests.support.amqp import as_user, confirming_connection, drain, publish


def publish_as(amqp_uri, user, exchange, body, **properties):
    """One confirmed publish as broker user `user` (guest, anonymous, when None)."""
    uri = with_user(amqp_uri, "guest", "guest") if user is None else as_user(amqp_uri, user)
    with confirming_connection(uri) as connection:
        connection.Producer(serializer="json").publish(
            body,
            exchange=Exchange(exchange, type="topic", durable=True),
            declare=[],
            routing_key=body["event_type"].split(".", 1)[1],
            delivery_mode=2,
            **properties,
        )


def test_the_broker_refuses_ai_writing_to_ticketings_exchange(audit, tenant_id):
    forged = envelope(tenant_id, event_type="ticketing.ticket_opened")
    with pytest.raises(amqp.exceptions.AccessRefused):
        publish_as(audit.cfg["AMQP_URI"], "ai", "ticketing.events", forged, user_id="ai")


def test_the_broker_refuses_a_user_id_that_is_not_the_connections_user(audit, tenant_id):
    forged = envelope(tenant_id, event_type="ai.summary_generated")
    with pytest.raises(amqp.exceptions.PreconditionFailed):
        publish_as(audit.cfg["AMQP_URI"], "ai", "ai.events", forged, user_id="ticketing")


@pytest.mark.parametrize(
    "user, properties",
    [
        ("ai", {"user_id": "ai"}),  # ai's own exchange, which audit reads: a name not ai's
        (None, {}),  # an anonymous publish (guest, no user_id) to ticketing's exchange
    ],
    ids=["another-service", "anonymous"],
)
def test_a_forged_event_reaching_audit_is_dead_lettered_never_chained(
    audit, tenant_id, user, properties
):
    forged = envelope(tenant_id, 1, event_type="ticketing.ticket_opened")
    exchange = "ai.events" if user else "ticketing.events"
    publish_as(audit.cfg["AMQP_URI"], user, exchange, forged, **properties)
    genuine = envelope(tenant_id, 2, event_type="ticketing.ticket_opened")
    publish(audit.cfg["AMQP_URI"], [genuine])  # as ticketing, the owner of the name

    dead = drain(audit.cfg["AMQP_URI"], "audit.ingest.dlq", expect=1, timeout=20)
    assert [body["event_id"] for body, _ in dead] == [forged["event_id"]]
    sender = user or "anonymous"
    assert dead[0][1]["x-last-error"] == (
        f"ForgedSender: ticketing.ticket_opened published by {sender}"
    )
    audit.wait_for(1, tenant_id)
    assert [event_id for _, event_id, _ in rows(audit.urls, tenant_id)] == [genuine["event_id"]]
