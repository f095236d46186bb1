"""The outbox relay: publishes committed events to `<service>.events` in commit order.

Reading by position alone skips an event whose transaction took a lower position but
committed after a higher one was read. The relay therefore reads in (txid, position)
order and only below `pg_snapshot_xmin(pg_current_snapshot())`: every transaction older
than that horizon has finished, so nothing can still appear behind the checkpoint.
The event store keeps txids ascending within a stream, so this order keeps each
stream's order too. One relay per database is active, elected by an advisory lock.
"""
import time

import psycopg
from kombu import Connection
from nameko.extensions import DependencyProvider

from shared import amqp_frames, metrics
from shared.background import BackgroundLoop

_BATCH = """
SELECT e.txid::text AS txid_text, e.position, e.envelope::text, e.event_type FROM events e
WHERE (e.txid, e.position) > (%s::xid8, %s)
  AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY e.txid, e.position
LIMIT %s
"""
_LOCK = "SELECT pg_try_advisory_lock(hashtext('dzdesk.relay.' || %s))"


class PublishNotConfirmed(Exception):
    """The broker refused (nacked) or did not confirm a batch in time."""


class ConfirmingPublisher:
    """Publishes a batch, then waits once for the broker's confirms of the whole batch."""

    def __init__(self, amqp_uri, exchange_name, confirm_timeout=30):
        self.exchange_name = exchange_name
        self.confirm_timeout = confirm_timeout
        self.connection = Connection(amqp_uri)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange_name, "topic", durable=True, auto_delete=False)
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.sent = self.confirmed = 0
        self.refused = False

    def _on_ack(self, delivery_tag, multiple):
        self.confirmed = max(self.confirmed, delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self.refused = True

    def publish(self, messages):
        """messages: (routing_key, body bytes) pairs; returns once all are confirmed."""
        self.send(messages)
        self.wait_confirmed()

    def send(self, messages):
        """Write the whole batch in one go: py-amqp's per-message framing, not the broker,
        was the relay's limit, and every message here has the same properties."""
        frames = amqp_frames.Publisher(self.channel.channel_id, self.exchange_name,
                                       self.connection.connection.frame_max)
        self.connection.connection.transport.write(
            b"".join(frames.publish(routing_key, body) for routing_key, body in messages))
        self.sent += len(messages)

    def wait_confirmed(self):
        deadline = time.monotonic() + self.confirm_timeout
        while self.confirmed < self.sent and not self.refused:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishNotConfirmed(f"{self.sent - self.confirmed} publishes unconfirmed")
            try:
                self.connection.drain_events(timeout=min(remaining, 1))
            except TimeoutError:
                continue
        if self.refused:
            raise PublishNotConfirmed("the broker nacked a publish")

    def close(self):
        self.connection.release()


class Relay:
    """One relay step at a time, usable on its own (tests, benchmarks) or in a service."""

    def __init__(self, service, system_url, amqp_uri, batch_size=1000):
        self.service = service
        self.system_url = system_url
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.conn = None
        self.publisher = None
        self.checkpoint = None
        self.prefetched = None

    def acquire(self):
        """Connect and try to become the active relay; False while another one is."""
        if self.checkpoint is not None:
            return True
        if self.conn is None:
            self.conn = psycopg.connect(self.system_url, autocommit=True)
        if not self.conn.execute(_LOCK, (self.service,)).fetchone()[0]:
            return False
        if self.publisher is None:
            self.publisher = ConfirmingPublisher(self.amqp_uri, f"{self.service}.events")
        txid, position = self.conn.execute(
            "SELECT txid::text, position FROM relay_checkpoint WHERE name = 'outbox'").fetchone()
        self.checkpoint = (txid, position)
        return True

    def run_once(self):
        """Publish the next batch below the horizon; return how many events went out."""
        rows, self.prefetched = self.prefetched or self._fetch(self.checkpoint), None
        if not rows:
            return 0
        # no headers: consumers take the correlation id from the envelope (see messaging)
        self.publisher.send([(event_type.split(".", 1)[1], body.encode())
                             for _, _, body, event_type in rows])
        txid, position = rows[-1][0], rows[-1][1]
        if len(rows) == self.batch_size:
            self.prefetched = self._fetch((txid, position))  # while the broker confirms
        self.publisher.wait_confirmed()
        # a crash before this update republishes the batch: consumers dedupe by event_id
        self.conn.execute("UPDATE relay_checkpoint SET txid = %s::xid8, position = %s,"
                          " updated_at = now() WHERE name = 'outbox'", (txid, position))
        self.checkpoint = (txid, position)
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def _fetch(self, after):
        return self.conn.execute(_BATCH, (*after, self.batch_size)).fetchall()

    def close(self):
        for resource in (self.publisher, self.conn):
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    pass
        self.conn = self.publisher = self.checkpoint = self.prefetched = None


class OutboxRelay(BackgroundLoop, DependencyProvider):
    """Runs the relay in the service process; reconnects with backoff after any failure."""

    def setup(self):
        config = self.container.config
        self.idle_interval = float(config.get("RELAY_POLL_INTERVAL", 0.05))
        self.relay = Relay(self.container.service_name, config["SYSTEM_DATABASE_URL"],
                           config["AMQP_URI"])

    def get_dependency(self, worker_ctx):
        return None

    def run_once(self):
        if not self.relay.acquire():
            return 1.0  # standby: another process relays this database
        published = self.relay.run_once()
        return 0 if published == self.relay.batch_size else self.idle_interval

    def reset(self):
        self.relay.close()
