"""The audit ingest loop: bursts of events from every service appended in one transaction.

nameko's per-message workers, each with a transaction of its own, cannot keep up with the
whole suite's events. This consumer takes deliveries with a large prefetch, gathers a burst
(up to AUDIT_BATCH_SIZE messages or AUDIT_BATCH_MS after the first), appends the burst in one
transaction, commits, then acks the burst with one `multiple` ack. A crash before the commit
loses nothing (the broker redelivers); a crash between commit and ack duplicates nothing (the
chain holds each event_id once). The queue has a single active consumer: a second audit
process stands by, so each stream's events reach the chain in the order they were published.
"""

import amqp
import psycopg
import structlog
from kombu import Connection, Exchange, Queue, binding
from nameko.extensions import DependencyProvider

from services.audit import store
from services.audit.envelopes import parse
from services.audit.exceptions import ForgedSender, InvalidEnvelope
from services.audit.settings import AuditSettings
from shared import metrics
from shared.background import BackgroundLoop
from shared.batches import collect_burst
from shared.broker import ANONYMOUS, internal_exchange, user_of
from shared.logs import describe_error
from shared.messaging import source_exchange

log = structlog.get_logger()

QUEUE = "audit.ingest"
DEAD_LETTERS = "audit.ingest.dlq"


def queues(sources, queue_type, service="audit"):
    quorum = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
    bindings = [binding(source_exchange(source), routing_key="#") for source in sources]
    ingest = Queue(
        QUEUE,
        bindings=bindings,
        durable=True,
        auto_delete=False,
        queue_arguments={**quorum, "x-single-active-consumer": True},
    )
    dead_letters = Queue(
        DEAD_LETTERS,
        exchange=dead_letter_exchange(service),
        routing_key=DEAD_LETTERS,
        durable=True,
        auto_delete=False,
        queue_arguments=quorum,
    )
    return ingest, dead_letters


def dead_letter_exchange(service):
    return Exchange(internal_exchange(service), type="direct", durable=True)


class Ingestor:
    """One consumer connection and one database connection; `poll` handles one burst."""

    def __init__(
        self,
        amqp_uri,
        database_url,
        sources,
        *,
        queue_type="quorum",
        batch_size=500,
        batch_wait=0.05,
        prefetch=1000,
        service="audit",
    ):
        self.amqp_uri, self.database_url = amqp_uri, database_url
        self.ingest_queue, self.dead_letter_queue = queues(sources, queue_type, service)
        self.batch_size, self.batch_wait, self.prefetch = batch_size, batch_wait, prefetch
        self.service = service
        self.connection = self.channel = self.publisher = self.db = None
        self.pending = []

    @classmethod
    def of(cls, settings, service="audit"):
        """The Ingestor the settings describe (AUDIT_SOURCES, AUDIT_BATCH_*, AUDIT_PREFETCH)."""
        return cls(
            settings.amqp_uri,
            settings.database_url,
            settings.audit_sources,
            queue_type=settings.queue_type,
            batch_size=settings.audit_batch_size,
            batch_wait=settings.batch_wait,
            prefetch=settings.audit_prefetch,
            service=service,
        )

    def connect(self):
        if self.connection is not None:
            return
        # no server-side prepared statements: their generic plans made the per-tenant
        # queries of a burst an order of magnitude slower than custom plans
        self.db = psycopg.connect(self.database_url, autocommit=False, prepare_threshold=None)
        self.connection = Connection(self.amqp_uri, heartbeat=0)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.declare(self.channel)
        self.channel.basic_qos(0, self.prefetch, False)
        self.channel.basic_consume(queue=QUEUE, callback=self.pending.append)
        self.publisher = self.connection.channel()
        self.publisher.confirm_select()

    def declare(self, channel=None):
        """Exchanges, the ingest queue and its bindings, the dead-letter queue (idempotent)."""
        if channel is None:
            with Connection(self.amqp_uri) as connection:
                return self.declare(connection.default_channel)
        # the sources' exchanges passively (the set-up declared them), audit's own actively
        for exchange in {b.exchange.name: b.exchange for b in self.ingest_queue.bindings}.values():
            exchange(channel).declare()
        self.dead_letter_queue.exchange(channel).declare()
        self.ingest_queue(channel).declare()
        self.dead_letter_queue(channel).declare()

    def poll(self, timeout=1.0):
        """Wait up to `timeout` for a delivery, gather its burst, append and ack it."""
        self._collect(timeout)
        if not self.pending:
            return 0
        # the consumer callback appends to this very list: copy it, then empty it in place
        messages = list(self.pending)
        self.pending.clear()
        return self._settle(messages)

    def _collect(self, timeout):
        collect_burst(self.connection, self.pending, self.batch_size, self.batch_wait, timeout)

    def _settle(self, messages):
        received, rejected = [], []
        for message in messages:
            sender = message.properties.get("user_id") or ANONYMOUS
            try:
                received.append((message, parse(message.body, sender)))
            except ForgedSender as error:
                metrics.EVENTS_REFUSED.labels(self.service, sender).inc()
                rejected.append((message, f"ForgedSender: {error}"))
            except InvalidEnvelope as error:
                rejected.append((message, f"InvalidEnvelope: {error}"))
        try:
            appended = store.append_burst(self.db, [item for _, item in received])
            self.db.commit()
        except psycopg.DataError:
            # one envelope the database refuses must not hold back the rest of the burst
            self.db.rollback()
            appended = self._one_by_one(received, rejected)
        for message, error in rejected:
            self._dead_letter(message, error)
        self.channel.basic_ack(messages[-1].delivery_tag, multiple=True)
        self._count("appended", appended)
        self._count("duplicate", len(received) - appended - len(rejected))
        self._count("dead_lettered", len(rejected))
        return len(messages)

    def _one_by_one(self, received, rejected):
        appended = 0
        for message, item in received:
            try:
                appended += store.append_burst(self.db, [item])
                self.db.commit()
            except psycopg.DataError as error:
                self.db.rollback()
                rejected.append((message, describe_error(error)))
        return appended

    def _dead_letter(self, message, error):
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-last-error": error[:1000],
                "x-attempts": 1,
                "x-original-exchange": message.delivery_info.get("exchange"),
                "x-original-routing-key": message.delivery_info.get("routing_key"),
            }
        )
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        dead = amqp.Message(
            body,
            content_type="application/json",
            delivery_mode=2,
            application_headers=headers,
            user_id=user_of(self.amqp_uri),
        )
        self.publisher.basic_publish_confirm(
            dead, exchange=self.dead_letter_queue.exchange.name, routing_key=DEAD_LETTERS
        )
        log.error("audit dead-lettered a message", error=error)

    def _count(self, outcome, amount):
        if amount > 0:
            metrics.EVENTS_HANDLED.labels(self.service, "ingest", outcome).inc(amount)

    def close(self):
        """Drop both connections; unacked deliveries go back to the queue."""
        self.pending.clear()
        for resource in (self.connection, self.db):
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    pass
        self.connection = self.channel = self.publisher = self.db = None


class AuditIngest(BackgroundLoop, DependencyProvider):
    """Runs the Ingestor in a managed thread; reconnects with backoff after any failure."""

    idle_interval = 0

    def setup(self):
        settings = AuditSettings.load(self.container.config)
        self.ingestor = Ingestor.of(settings, service=self.container.service_name)

    def start(self):
        # bound before the service reports started: nothing published from then on is lost
        self.ingestor.declare()
        super().start()

    def get_dependency(self, worker_ctx):
        return None

    def run_once(self):
        self.ingestor.connect()
        self.ingestor.poll(timeout=1.0)
        return 0

    def reset(self):
        self.ingestor.close()
