"""Event consumers that take events in bursts: one worker, one transaction and one inbox claim
for each tenant's events of a burst, instead of one of each per event.

A `batch_event_handler` consumes the very queue an `event_handler` of the same method would
(same name, bindings, backoff and dead-letter queues): switching between them moves no
messages. The queue and its bindings are declared as the container starts (before its loop's
first turn), so nothing published once the service has started is routed nowhere. Its own
consumer connection prefetches up to EVENT_BATCH_PREFETCH deliveries and
gathers a burst (up to EVENT_BATCH_SIZE, or EVENT_BATCH_MS after the first); the burst is split
by tenant (each tenant's events in arrival order), each part is handled by one worker in one
transaction that first claims every event id in the inbox, and the whole burst is acked with
one `multiple` ack once every part has committed. A crash before that loses nothing (the
broker redelivers; the inbox skips what committed); a part that fails is rolled back and run
again event by event, so one bad event is retried or dead-lettered on its own (as an
`event_handler` would) and holds back none of the others.
"""

import functools
import time
import uuid

import eventlet.event
import structlog
from kombu import Connection, Consumer

from shared import metrics
from shared.background import BackgroundLoop
from shared.db import finish_transactions
from shared.messaging import (
    TRANSIENT,
    EventConsumer,
    PoisonMessage,
    _unit_of_work,
    checked_envelope,
    sender_of,
)
from shared.retry import on_conflict

log = structlog.get_logger()


def claim_many(conn, tenant_id, consumer, event_ids):
    """Record the events as handled by this consumer; the ids that were not already."""
    rows = conn.execute(
        "INSERT INTO inbox (tenant_id, consumer, event_id)"
        " SELECT %s, %s, id FROM unnest(%s::uuid[]) AS id ON CONFLICT DO NOTHING"
        " RETURNING event_id::text",
        (tenant_id, consumer, list(event_ids)),
    ).fetchall()
    return {event_id for (event_id,) in rows}


def collect_burst(connection, pending, batch_size, batch_wait, timeout):
    """Drains `connection` (whose consumer appends each delivery to `pending`) until
    `batch_size` deliveries wait, `batch_wait` seconds after the first of them, or `timeout`
    seconds with none: one burst, for audit's ingest and for the burst event consumers."""
    until = time.monotonic() + timeout
    in_burst = False
    while len(pending) < batch_size:
        if pending and not in_burst:
            # the burst is what arrives shortly after its first message
            in_burst, until = True, time.monotonic() + batch_wait
        wait = until - time.monotonic()
        if wait <= 0:
            return
        try:
            connection.drain_events(timeout=wait)
        except TimeoutError:
            return


class BatchEventConsumer(BackgroundLoop, EventConsumer):
    """An EventConsumer's queues, consumed in bursts by a loop of its own (see the module)."""

    idle_interval = 0

    def __init__(self, source_service, event_type, batch_size=500, batch_ms=50, **kwargs):
        self.default_batch_size, self.default_batch_ms = batch_size, batch_ms
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        self.declare_queues()
        config = self.container.config
        self.batch_size = int(config.get("EVENT_BATCH_SIZE", self.default_batch_size))
        self.batch_wait = float(config.get("EVENT_BATCH_MS", self.default_batch_ms)) / 1000
        self.prefetch = int(config.get("EVENT_BATCH_PREFETCH", 2 * self.batch_size))
        self.connection = self.channel = None
        self.pending = []

    def start(self):
        # the queue and its bindings before the container counts as started (the loop's
        # consumer would declare them only on its first turn): an event published the
        # moment start() returns is queued, not routed nowhere
        EventConsumer.start(self, self.queue)
        BackgroundLoop.start(self)

    def stop(self):
        BackgroundLoop.stop(self)

    def kill(self):
        BackgroundLoop.stop(self)

    def _connect(self):
        if self.connection is not None:
            return
        self.connection = Connection(self.container.config["AMQP_URI"], heartbeat=0)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.channel.basic_qos(0, self.prefetch, False)
        Consumer(
            self.channel, queues=[self.queue], on_message=self.pending.append, accept=["json"]
        ).consume()

    def reset(self):
        """Drop the consumer connection; unacked deliveries go back to the queue."""
        self.pending.clear()
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                pass

    def run_once(self):
        self._connect()
        self._collect(timeout=1.0)
        if self.pending:
            # the consumer callback appends to this very list: copy it, then empty it in place
            messages = list(self.pending)
            self.pending.clear()
            self._settle(messages)
        return 0

    def _collect(self, timeout):
        collect_burst(self.connection, self.pending, self.batch_size, self.batch_wait, timeout)

    def _settle(self, messages):
        parts = {}
        for message in messages:
            try:
                envelope = self._envelope(message)
            except PoisonMessage as exc:
                self._count(self._retry_or_dead_letter(message, exc))
                continue
            parts.setdefault(envelope.tenant_id, []).append((message, envelope))
        for part in parts.values():
            failure = self._run([envelope for _, envelope in part])
            if failure is None:
                self._count("ok", len(part))
                continue
            if len(part) == 1 or isinstance(failure, TRANSIENT):
                # the database, the broker or privacy's keys away fail them all alike: each
                # backs off (using up none of its attempts) instead of failing again at once
                for message, _ in part:
                    self._count(self._retry_or_dead_letter(message, failure))
                continue
            # one of them failed: each on its own, so only that one is retried
            for message, envelope in part:
                failure = self._run([envelope])
                self._count(
                    "ok" if failure is None else self._retry_or_dead_letter(message, failure)
                )
        self.channel.basic_ack(messages[-1].delivery_tag, multiple=True)

    def _envelope(self, message):
        try:
            body = message.decode()
        except Exception as exc:
            raise PoisonMessage(f"undecodable message: {exc}") from exc
        return checked_envelope(
            self.container.service_name, body, sender_of(message, self.own_user)
        )

    def _run(self, envelopes):
        """Handle one tenant's envelopes in one worker; the exception it failed with, or None."""
        done = eventlet.event.Event()
        first = envelopes[0]
        context = {"correlation_id": first.correlation_id, "causation_id": first.event_id}
        self.container.spawn_worker(
            self,
            (envelopes,),
            {},
            context_data=context if len(envelopes) == 1 else {},
            handle_result=functools.partial(self._handled, done),
        )
        return done.wait()

    @staticmethod
    def _handled(done, worker_ctx, result=None, exc_info=None):
        exc_info = finish_transactions(worker_ctx, exc_info)
        done.send(None if exc_info is None else exc_info[1])
        return result, exc_info

    def _count(self, outcome, amount=1):
        metrics.EVENTS_HANDLED.labels(self.container.service_name, self.method_name, outcome).inc(
            amount
        )


def batch_event_handler(source_service, event_type, **kwargs):
    """Handle events of `source_service` whose name matches `event_type`, in bursts.

    The method receives one tenant's new envelopes (validated, from the service their type
    names, in arrival order, none it handled before) and runs in that tenant's unit of work,
    in which every envelope's id was claimed in the inbox: what the method writes commits with
    the claims, or neither does. The inbox consumer is `<service>.<method>`, as for
    `event_handler`.
    """

    def decorate(method):
        @functools.wraps(method)
        def handle(self, envelopes):
            tenant_id = envelopes[0].tenant_id
            conn = _unit_of_work(self).begin(tenant_id)
            fresh = claim_many(
                conn, tenant_id, f"{self.name}.{method.__name__}", [e.event_id for e in envelopes]
            )
            new = []
            for envelope in envelopes:
                event_id = str(uuid.UUID(envelope.event_id))
                if event_id in fresh:
                    fresh.discard(event_id)  # twice in one burst: the first only
                    new.append(envelope)
            if len(new) < len(envelopes):
                log.info("duplicate events skipped", count=len(envelopes) - len(new))
            if new:
                method(self, new)

        return BatchEventConsumer.decorator(source_service, event_type, **kwargs)(
            on_conflict(handle)
        )

    return decorate
