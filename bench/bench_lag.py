"""Consumer lag while tickets are created at 200/s: audit and ai each against the broker's own.

privacy, ticketing, audit (as `dzdesk-service audit` runs it) and ai run on one vhost; tickets
are created through ticketing's HTTP API at a fixed 200 a second (open loop) for 10 s by
requesters of one tenant. A ticket's lag is from its create answering (ticketing committed the
event before it answers) to the consumer's effect:
- audit.lag_p99_s: the entry's `recorded_at` (the start of the transaction that appended it);
- ai.lag_p99_s: the moment ai's ticket row is first seen (polled every 50 ms on one
  connection: up to 50 ms late).
Baseline of both: the lag to a bare consumer of `ticketing.events` in the bench (the outbox
relay and the broker, what any consumer waits for). lag.creates_per_s: what ticketing answered
per second, against the 200 offered.
"""

import sys
import threading
import time
import uuid

import psycopg
import requests
from kombu import Connection, Consumer, Exchange, Queue

from bench.bench_audit import start_audit
from bench.common import fixed_rate, row, start_service, stop_service

RATE, SECONDS = 200, 10
USERS = 20
CAUGHT_UP_WITHIN = 120


def p99(lags):
    ordered = sorted(lags)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("inf")


class BareConsumer:
    """Notes when each ticket_opened reaches a plain consumer of ticketing's exchange."""

    def __init__(self, amqp_uri):
        self.seen, self.connection = {}, Connection(amqp_uri)
        exchange = Exchange("ticketing.events", type="topic", durable=True, passive=True)
        queue = Queue(
            f"bench-lag-{uuid.uuid4().hex[:6]}",
            exchange=exchange,
            routing_key="ticket_opened",
            exclusive=True,
        )
        self.consumer = Consumer(
            self.connection, queues=[queue], callbacks=[self._on], accept=["json"], no_ack=True
        )
        self.consumer.consume()
        self.running = True
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _on(self, body, message):
        self.seen.setdefault(body["data"]["ticket_id"], time.time())

    def _drain(self):
        while self.running:
            try:
                self.connection.drain_events(timeout=0.2)
            except TimeoutError:
                continue

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.connection.release()


class RowWatcher:
    """Notes when each ticket's row first appears in ai's database."""

    def __init__(self, admin_url):
        self.seen, self.running = {}, True
        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        revision = 0
        while self.running:
            rows = self.conn.execute(
                "SELECT ticket_id, revision FROM ai_tickets WHERE revision > %s", (revision,)
            ).fetchall()
            now = time.time()
            for ticket_id, changed in rows:
                self.seen.setdefault(ticket_id, now)
                revision = max(revision, changed)
            time.sleep(0.05)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.conn.close()


def audit_recorded(admin_url):
    with psycopg.connect(admin_url) as conn:
        return dict(
            conn.execute(
                "SELECT envelope::json->'data'->>'ticket_id',"
                " extract(epoch FROM recorded_at)::float8 FROM audit_entry"
                " WHERE event_type = 'ticketing.ticket_opened'"
            ).fetchall()
        )


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    dbs = {name: env.make_database(name) for name in ("privacy", "ticketing", "audit", "ai")}
    processes, watchers = [], []
    try:
        for target, name, extra in (
            ("services.privacy.service:PrivacyService", "privacy", {}),
            ("services.ticketing.service:TicketingService", "ticketing", issuer.config),
            ("services.ai.service:AiService", "ai", issuer.config),
        ):
            cfg = env.service_config(name, dbs[name], amqp_uri, **extra)
            processes.append(start_service(target, cfg))
            if name == "ticketing":
                tickets_url = f"http://{cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
        processes.append(start_audit(env, dbs["audit"], amqp_uri))
        tenant = str(uuid.uuid4())
        headers = [
            issuer.headers(tenant_id=tenant, roles=("requester",), ttl=600) for _ in range(USERS)
        ]
        answered = {}

        def create(session, i):
            response = session.post(
                tickets_url,
                json={
                    "type": "incident",
                    "title": f"Lag ticket {i}",
                    "description": "The VPN client disconnects every hour on the hour.",
                },
                headers=headers[i % USERS],
                timeout=30,
            )
            if response.status_code != 201:
                return False
            answered[response.headers["Location"].rsplit("/", 1)[1]] = time.time()
            return True

        with requests.Session() as session:
            for i in range(USERS * 2):  # subject keys created, pools and caches warm
                create(session, i)
        bare = BareConsumer(amqp_uri)
        watchers.append(bare)
        ai_rows = RowWatcher(dbs["ai"]["admin"])
        watchers.append(ai_rows)
        answered.clear()
        started = time.time()
        created, _, failed = fixed_rate(create, RATE, SECONDS)
        if failed:
            print(f"bench lag: {failed} creates failed", file=sys.stderr)
        tickets = dict(answered)
        deadline = time.monotonic() + CAUGHT_UP_WITHIN
        while time.monotonic() < deadline:
            audited = audit_recorded(dbs["audit"]["admin"])
            if all(t in audited and t in ai_rows.seen and t in bare.seen for t in tickets):
                break
            time.sleep(0.5)
        else:
            print("bench lag: not every consumer caught up", file=sys.stderr)
        print(
            f"bench lag: {len(tickets)} created; all caught up"
            f" {time.time() - started:.1f} s after the first",
            file=sys.stderr,
        )
    finally:
        for watcher in watchers:
            watcher.close()
        for process in processes:
            stop_service(process)
        issuer.close()

    def lags(effects):
        # a ticket never seen counts as late as the wait allowed
        return [effects.get(t, at + CAUGHT_UP_WITHIN) - at for t, at in tickets.items()]

    relay = p99(lags(bare.seen))
    return [
        row("lag.creates_per_s", created, "req/s", RATE),
        row("audit.lag_p99_s", p99(lags(audited)), "s", relay),
        row("ai.lag_p99_s", p99(lags(ai_rows.seen)), "s", relay),
    ]
