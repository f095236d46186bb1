"""The SLA timer entrypoint: finds tickets with a due SLA alert and runs one worker per ticket.

Durable by construction: due instants live in the read model (`tickets.sla_next_at`, computed
from the stream with every projection), so a restart resumes from the table and loses nothing.
The worker recomputes from the stream before recording, and the stream dedupes alerts, so a
second process (or a retried tick) polling the same rows records nothing twice.
"""

from functools import partial

import psycopg
import structlog
from nameko.extensions import Entrypoint

from services.ticketing.clock import clock_from_config
from shared.background import BackgroundLoop
from shared.db import finish_transactions
from shared.logs import describe_error
from shared.retry import retrying

log = structlog.get_logger()

# Cross-tenant by design: the system role reads only ids and instants of this table (GRANT).
_DUE = (
    "SELECT tenant_id::text, ticket_id::text FROM tickets WHERE sla_next_at <= %s"
    " ORDER BY sla_next_at LIMIT %s"
)


class SlaDue(BackgroundLoop, Entrypoint):
    """Calls the method as `method(tenant_id, ticket_id)` for each ticket whose alert is due.

    Config: SLA_TIMER_INTERVAL (seconds between polls, default 5), SLA_TIMER_BATCH (default 100).
    """

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("SLA_TIMER_INTERVAL", 5))
        self.batch = int(config.get("SLA_TIMER_BATCH", 100))
        self.url = config["SYSTEM_DATABASE_URL"]
        self.clock = clock_from_config(config)
        self.in_flight = set()
        self.conn = None

    def run_once(self):
        self.poll()
        return self.interval

    def poll(self):
        """Spawn a worker for each due ticket not already being handled; return how many."""
        if self.conn is None:
            self.conn = psycopg.connect(self.url, autocommit=True)
        spawned = 0
        for tenant_id, ticket_id in self.conn.execute(
            _DUE, (self.clock.now(), self.batch)
        ).fetchall():
            key = (tenant_id, ticket_id)
            if key in self.in_flight:
                continue
            self.in_flight.add(key)
            self.container.spawn_worker(
                self, (tenant_id, ticket_id), {}, handle_result=partial(self._done, key)
            )
            spawned += 1
        return spawned

    def _done(self, key, worker_ctx, result, exc_info):
        exc_info = finish_transactions(worker_ctx, exc_info)
        self.in_flight.discard(key)
        if exc_info is not None:
            # the row still says due: the next poll tries again
            log.warning(
                "SLA timer worker failed",
                tenant_id=key[0],
                ticket_id=key[1],
                error=describe_error(exc_info[1]),
            )
        return result, exc_info

    def reset(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None


sla_due = retrying(SlaDue.decorator)
