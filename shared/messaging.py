"""Event consumers: quorum queues, an idempotent inbox, retries, then the dead-letter queue."""

import functools

import psycopg
import structlog
from kombu import Connection, Exchange, Queue, binding
from marshmallow import ValidationError
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from psycopg_pool import PoolTimeout

from shared import metrics
from shared.broker import (
    ANONYMOUS,
    events_exchange,
    internal_exchange,
    owns_event,
    queue_arguments,
    user_of,
)
from shared.db import UnitOfWork, finish_transactions
from shared.envelope import load_envelope
from shared.logs import describe_error, format_error
from shared.retry import on_conflict
from shared.rpc import SigningPublisher

log = structlog.get_logger()


# failures of the infrastructure rather than of the message
TRANSIENT = (psycopg.OperationalError, PoolTimeout, ConnectionError, TimeoutError)


class PoisonMessage(Exception):
    """A message that can never succeed: dead-lettered without retries."""


def source_exchange(source):
    """Another service's events exchange, bound passively: the set-up declared it, and a
    consumer has no right to declare (or delete) it."""
    return Exchange(events_exchange(source), type="topic", durable=True, passive=True)


# set on a retry by the consumer itself (the broker lets nobody else publish as it)
SENDER_HEADER = "x-dzdesk-sender"


def sender_of(message, own_user):
    """The service that published the event: the broker-checked `user_id`; for a retry the
    consumer republished itself, the sender it recorded then."""
    user = message.properties.get("user_id")
    if user and user == own_user and (message.headers or {}).get(SENDER_HEADER):
        return message.headers[SENDER_HEADER]
    return user or ANONYMOUS


def claim(conn, tenant_id, consumer, event_id):
    """Record the event as handled by this consumer; False when it already was."""
    row = conn.execute(
        "INSERT INTO inbox (tenant_id, consumer, event_id) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (tenant_id, consumer, event_id),
    ).fetchone()
    return row is not None


class EventConsumer(EventHandler):
    """Consumes `<source>.events` (one exchange or several) with a routing-key pattern.

    A failed delivery is republished to `<queue>.backoff`, whose TTL returns it to the
    queue after a backoff; after `max_attempts` it goes to `<queue>.dlq` with the error.
    The original is acked only after that republish is confirmed: nothing is dropped.
    Both side queues hang off the service's own `<service>.internal` exchange. (Brokers of
    earlier versions keep `<queue>.retry` queues dead-lettering by the default exchange:
    they empty themselves into the queue and may then be deleted.)
    A dead letter expires after EVENT_DEAD_LETTER_TTL_DAYS (default 14): it may carry
    personal data. Per-message expiration, not a queue argument: changing a declared
    queue's arguments would fail the redeclaration on every existing deployment.
    """

    def __init__(self, source_service, event_type, max_attempts=None, **kwargs):
        self.max_attempts = max_attempts
        super().__init__(source_service, event_type, **kwargs)

    @property
    def sources(self):
        source = self.source_service
        return [source] if isinstance(source, str) else list(source)

    def setup(self):
        self.declare_queues()
        self.queue_consumer.register_provider(self)

    def declare_queues(self):
        """The queue, its bindings, the backoff and dead-letter queues, and their publisher."""
        config = self.container.config
        label = "+".join(self.sources)
        pattern = self.event_type.replace("#", "all").replace("*", "any")
        name = f"evt-{label}-{pattern}--{self.container.service_name}.{self.method_name}"
        self.internal = Exchange(
            internal_exchange(self.container.service_name), type="direct", durable=True
        )
        # a retry comes back through the service's own exchange, bound under the queue's name
        bindings = [
            binding(source_exchange(source), routing_key=self.event_type) for source in self.sources
        ] + [binding(self.internal, routing_key=name)]
        self.queue = Queue(
            name,
            bindings=bindings,
            durable=True,
            auto_delete=False,
            queue_arguments=queue_arguments(config),
        )
        self.retry_queue = Queue(
            f"{name}.backoff",
            exchange=self.internal,
            routing_key=f"{name}.backoff",
            durable=True,
            queue_arguments={
                "x-dead-letter-exchange": self.internal.name,
                "x-dead-letter-routing-key": name,
            },
        )
        self.dead_letter_queue = Queue(
            f"{name}.dlq",
            exchange=self.internal,
            routing_key=f"{name}.dlq",
            durable=True,
            queue_arguments=queue_arguments(config),
        )
        self.attempts_allowed = self.max_attempts or int(config.get("EVENT_MAX_ATTEMPTS", 5))
        self.backoff_ms = int(config.get("EVENT_RETRY_BACKOFF_MS", 200))
        self.dead_letter_ttl = float(config.get("EVENT_DEAD_LETTER_TTL_DAYS", 14)) * 86400
        self.own_user = user_of(config["AMQP_URI"])
        self.publisher = SigningPublisher(
            config["AMQP_URI"], declare=[self.retry_queue, self.dead_letter_queue]
        )

    def start(self, *queues):
        # declare the side queues up front so a dead letter has a home (and can be watched);
        # `queues`: more to declare with them (a queue declares its bindings)
        with Connection(self.container.config["AMQP_URI"]) as connection:
            channel = connection.default_channel
            for queue in (self.retry_queue, self.dead_letter_queue, *queues):
                queue(channel).declare()

    def handle_message(self, body, message):
        context_data = self.unpack_message_headers(message)
        if isinstance(body, dict):
            # the event carries its correlation id: the handler's work continues that chain
            if isinstance(body.get("correlation_id"), str):
                context_data["correlation_id"] = body["correlation_id"]
            if isinstance(body.get("event_id"), str):
                context_data["causation_id"] = body["event_id"]
        try:
            sender = sender_of(message, self.own_user)
            self.container.spawn_worker(
                self,
                (body, sender),
                {},
                context_data=context_data,
                handle_result=functools.partial(self.handle_result, message),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        exc_info = finish_transactions(worker_ctx, exc_info)
        outcome = "ok"
        if exc_info is not None:
            outcome = self._retry_or_dead_letter(message, exc_info[1])
        metrics.EVENTS_HANDLED.labels(self.container.service_name, self.method_name, outcome).inc()
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _retry_or_dead_letter(self, message, exc):
        headers = dict(message.headers or {})
        headers[SENDER_HEADER] = sender_of(message, self.own_user)
        headers["x-last-error"] = describe_error(exc)[:1000]
        if isinstance(exc, TRANSIENT):
            # the database or broker is away, not the message at fault: wait for it as long
            # as it takes, backing off, without using up the message's attempts
            waits = int(headers.get("x-transient-retries", 0)) + 1
            headers["x-transient-retries"] = waits
            delay = min(self.backoff_ms * 2 ** min(waits - 1, 10), 30_000)
            self.publisher.publish(
                message.payload,
                exchange=self.internal,
                routing_key=self.retry_queue.name,
                headers=headers,
                expiration=delay / 1000,
            )
            log.warning(
                "event handling hit an unavailable dependency; will retry",
                waits=waits,
                error=headers["x-last-error"],
            )
            return "retried"
        attempts = int(headers.get("x-attempts", 0)) + 1
        headers["x-attempts"] = attempts
        if attempts < self.attempts_allowed and not isinstance(exc, PoisonMessage):
            delay = min(self.backoff_ms * 2 ** (attempts - 1), 60_000)
            self.publisher.publish(
                message.payload,
                exchange=self.internal,
                routing_key=self.retry_queue.name,
                headers=headers,
                expiration=delay / 1000,
            )
            log.warning(
                "event handling failed, will retry",
                attempts=attempts,
                error=headers["x-last-error"],
            )
            return "retried"
        headers["x-error-trace"] = format_error(exc)[:4000]
        headers["x-original-routing-key"] = message.delivery_info.get("routing_key")
        headers["x-original-exchange"] = message.delivery_info.get("exchange")
        self.publisher.publish(
            message.payload,
            exchange=self.internal,
            routing_key=self.dead_letter_queue.name,
            headers=headers,
            expiration=self.dead_letter_ttl,
        )
        log.error("event dead-lettered", attempts=attempts, error=headers["x-last-error"])
        return "dead_lettered"


class BroadcastHandler(EventHandler):
    """nameko's event handler (for BROADCAST), bound passively to the source's exchange."""

    def setup(self):
        super().setup()
        self.queue.exchange = source_exchange(self.source_service)


broadcast_handler = BroadcastHandler.decorator


def _unit_of_work(service):
    for value in vars(service).values():
        if isinstance(value, UnitOfWork):
            return value
    raise TypeError(f"{type(service).__name__} needs a Database dependency for its inbox")


def checked_envelope(service, body, sender):
    """The body's Envelope, when valid and published by the service its type names; a
    `PoisonMessage` otherwise."""
    try:
        envelope = load_envelope(body)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid envelope: {exc.messages}") from exc
    if not owns_event(sender, envelope.event_type):
        metrics.EVENTS_REFUSED.labels(service, sender).inc()
        log.error(
            "event refused: not from the service it names",
            event_type=envelope.event_type,
            sender=sender,
        )
        raise PoisonMessage(f"forged sender: {envelope.event_type} published by {sender}")
    return envelope


def event_handler(source_service, event_type, *, idempotent=True, **kwargs):
    """Handle events of `source_service` (a name or a list) whose name matches `event_type`.

    The method receives a validated Envelope, only from the service its name says published
    it (`ticketing.*` from the broker user `ticketing`): any other goes to the dead-letter
    queue with the reason, unhandled. With `idempotent` (the default) the event id
    is claimed in the inbox in the handler's own transaction: a redelivered event whose
    first handling committed is skipped, one whose handling rolled back runs again.
    """

    def decorate(method):
        @functools.wraps(method)
        def handle(self, body, sender):
            envelope = checked_envelope(self.name, body, sender)
            structlog.contextvars.bind_contextvars(event_type=envelope.event_type)
            if idempotent:
                unit = _unit_of_work(self)
                conn = unit.begin(envelope.tenant_id)
                if not claim(
                    conn, envelope.tenant_id, f"{self.name}.{method.__name__}", envelope.event_id
                ):
                    log.info("duplicate event skipped", event_id=envelope.event_id)
                    return None
            return method(self, envelope)

        return EventConsumer.decorator(source_service, event_type, **kwargs)(on_conflict(handle))

    return decorate
