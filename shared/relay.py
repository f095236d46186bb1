"""The outbox relay: publishes committed events to `<service>.events` in commit order.

Reading by position alone skips an event whose transaction took a lower position but
committed after a higher one was read. The relay therefore reads in (txid, position)
order and only below `pg_snapshot_xmin(pg_current_snapshot())`: every transaction older
than that horizon has finished, so nothing can still appear behind the checkpoint.
The event store keeps txids ascending within a stream, so this order keeps each
stream's order too. One relay per database is active, elected by an advisory lock.

Its lag (`dzdesk_relay_lag_seconds`) is the age of the oldest event after the checkpoint that
the last poll read, from the `occurred_at` of the batch's first row (one envelope parsed per
batch, no query of its own), 0 once a poll finds nothing. It is computed when scraped, so it
keeps growing while the relay cannot publish. Events above the horizon are not seen: a
transaction left open holds them back without showing here.
"""

import datetime
import json
import time

import psycopg
from kombu import Connection
from nameko.extensions import DependencyProvider

from shared import amqp_frames, metrics
from shared.background import BackgroundLoop
from shared.broker import user_of

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


class Confirms:
    """The broker's confirms of one channel, per delivery tag (1, 2, ... in publish order).

    An ack or nack with `multiple` settles every tag up to its own; single ones may come in
    any order. `through` is the highest tag below which every publish was acked: the only
    point the relay's checkpoint may move to. A nacked tag holds it back for good.
    """

    def __init__(self):
        self.sent = 0
        self.through = 0
        self.nacked = set()
        self._settled = set()  # settled tags above `through`, acked or nacked

    def sent_more(self, count):
        self.sent += count

    def ack(self, tag, multiple=False):
        self._settle(tag, multiple)

    def nack(self, tag, multiple=False):
        first = tag if not multiple else self.through + 1
        self.nacked.update(t for t in range(first, tag + 1) if t not in self._settled)
        self._settle(tag, multiple)

    def _settle(self, tag, multiple):
        if multiple and not self.nacked:  # the usual case, without a set of every tag
            if tag > self.through:
                self.through = tag
                self._settled = {t for t in self._settled if t > tag}
        elif multiple:
            self._settled.update(range(self.through + 1, tag + 1))
        elif tag > self.through:
            self._settled.add(tag)
        floor = min(self.nacked, default=None)
        while self.through + 1 in self._settled and self.through + 1 != floor:
            self.through += 1
            self._settled.discard(self.through)

    @property
    def refused(self):
        return bool(self.nacked)

    @property
    def outstanding(self):
        return self.sent - self.through - len(self._settled)


class ConfirmingPublisher:
    """Publishes a batch, then waits once for the broker's confirms of the whole batch."""

    def __init__(self, amqp_uri, exchange_name, confirm_timeout=30):
        self.exchange_name = exchange_name
        self.confirm_timeout = confirm_timeout
        self.user_id = user_of(amqp_uri)
        self.connection = Connection(amqp_uri)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange_name, "topic", durable=True, auto_delete=False)
        self.channel.confirm_select()
        self.confirms = Confirms()
        self.channel.events["basic_ack"].add(self.confirms.ack)
        self.channel.events["basic_nack"].add(self.confirms.nack)

    @property
    def sent(self):
        return self.confirms.sent

    def publish(self, messages):
        """messages: (routing_key, body bytes) pairs; returns once all are confirmed."""
        self.send(messages)
        self.wait_confirmed()

    def send(self, messages):
        """Write the whole batch in one go: py-amqp's per-message framing, not the broker,
        was the relay's limit, and every message here has the same properties."""
        frames = amqp_frames.Publisher(
            self.channel.channel_id,
            self.exchange_name,
            self.connection.connection.frame_max,
            self.user_id,
        )
        self.connection.connection.transport.write(
            b"".join(frames.publish(routing_key, body) for routing_key, body in messages)
        )
        self.confirms.sent_more(len(messages))

    def wait_confirmed(self):
        """Returns once every publish so far is acked; raises on a nack or the timeout."""
        confirms = self.confirms
        deadline = time.monotonic() + self.confirm_timeout
        while confirms.outstanding and not confirms.refused:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishNotConfirmed(f"{confirms.outstanding} publishes unconfirmed")
            try:
                self.connection.drain_events(timeout=min(remaining, 1))
            except TimeoutError:
                continue
        if confirms.refused:
            raise PublishNotConfirmed(f"the broker nacked {len(confirms.nacked)} publishes")

    def close(self):
        self.connection.release()


def _occurred(row):
    """The epoch seconds an event row's envelope says it occurred at (now when unreadable)."""
    try:
        occurred = datetime.datetime.fromisoformat(json.loads(row[2])["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return time.time()
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=datetime.UTC)
    return occurred.timestamp()


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
        # epoch seconds of the oldest unpublished event the last poll read; None: caught up.
        # Kept across close(): while reconnecting, the lag goes on growing.
        self.oldest_unpublished = None

    def lag(self):
        """Seconds since the oldest event still waiting occurred (0 when caught up)."""
        oldest = self.oldest_unpublished
        return 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def acquire(self):
        """Connect and try to become the active relay; False while another one is."""
        if self.checkpoint is not None:
            return True
        if self.conn is None:
            self.conn = psycopg.connect(self.system_url, autocommit=True)
        if not self.conn.execute(_LOCK, (self.service,)).fetchone()[0]:
            self.oldest_unpublished = None  # a standby: the active relay reports the lag
            return False
        txid, position = self.conn.execute(
            "SELECT txid::text, position FROM relay_checkpoint WHERE name = 'outbox'"
        ).fetchone()
        self.checkpoint = (txid, position)
        metrics.RELAY_LAG.labels(self.service).set_function(self.lag)
        return True

    def run_once(self):
        """Publish the next batch below the horizon; return how many events went out."""
        rows, self.prefetched = self.prefetched or self._fetch(self.checkpoint), None
        if not rows:
            self.oldest_unpublished = None
            return 0
        self.oldest_unpublished = _occurred(rows[0])
        if self.publisher is None:  # after the read: a broker outage still shows as lag
            self.publisher = ConfirmingPublisher(self.amqp_uri, f"{self.service}.events")
        first_tag = self.publisher.sent + 1
        # no headers: consumers take the correlation id from the envelope (see messaging)
        self.publisher.send(
            [(event_type.split(".", 1)[1], body.encode()) for _, _, body, event_type in rows]
        )
        if len(rows) == self.batch_size:
            self.prefetched = self._fetch((rows[-1][0], rows[-1][1]))  # while the broker confirms
        try:
            self.publisher.wait_confirmed()
        except PublishNotConfirmed:
            self.prefetched = None  # read again from wherever the checkpoint stops
            raise
        finally:
            # past the events whose publishes, and all before them, were acked: no further
            confirmed = self.publisher.confirms.through - first_tag + 1
            if confirmed > 0:
                self._advance(rows[min(confirmed, len(rows)) - 1])
            if 0 < confirmed < len(rows):
                self.oldest_unpublished = _occurred(rows[confirmed])
        self.oldest_unpublished = _occurred(self.prefetched[0]) if self.prefetched else None
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def _advance(self, row):
        # a crash before this update republishes the batch: consumers dedupe by event_id
        txid, position = row[0], row[1]
        self.conn.execute(
            "UPDATE relay_checkpoint SET txid = %s::xid8, position = %s,"
            " updated_at = now() WHERE name = 'outbox'",
            (txid, position),
        )
        self.checkpoint = (txid, position)

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
        self.relay = Relay(
            self.container.service_name, config["SYSTEM_DATABASE_URL"], config["AMQP_URI"]
        )

    def get_dependency(self, worker_ctx):
        return None

    def run_once(self):
        if not self.relay.acquire():
            return 1.0  # standby: another process relays this database
        published = self.relay.run_once()
        return 0 if published == self.relay.batch_size else self.idle_interval

    def reset(self):
        self.relay.close()
