"""Ticketing's own nameko extensions: the clock of SLA decisions, the process's SLA policies (each
tenant's default and conditional ones) and the SLA timer entrypoint.

The clock is UTC now plus a configured offset, or a clock that in-process tests inject and
move by hand (`settings.INJECTED_CLOCK_KEY`).

The timer is durable by construction: due instants live in the read model
(`tickets.sla_next_at`, computed from the stream with every projection), so a restart resumes
from the table and loses nothing. The worker recomputes from the stream before recording, and
the stream dedupes alerts, so a second process (or a retried tick) polling the same rows
records nothing twice; the escalation actions a recorded alert sets off go in the same append
and are deduped by the stream the same way (application.TicketDesk.record_due_sla_alerts).
"""

from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
import structlog
from nameko.extensions import DependencyProvider, Entrypoint

from services.ticketing import store
from services.ticketing.application import PolicyCache
from services.ticketing.settings import TicketingSettings
from shared.background import BackgroundLoop
from shared.db import finish_transactions
from shared.logs import describe_error
from shared.retry import retrying

log = structlog.get_logger()


class OffsetClock:
    def __init__(self, offset_seconds=0.0):
        self.offset = timedelta(seconds=float(offset_seconds))

    def now(self):
        return datetime.now(UTC) + self.offset


def clock_of(settings):
    """The injected clock when a test put one in the config, else now plus the offset."""
    if settings.sla_clock is not None:
        return settings.sla_clock
    return OffsetClock(settings.sla_clock_offset_seconds)


class Clock(DependencyProvider):
    """Injects the service's clock; `SLA_CLOCK_OFFSET_SECONDS` is 0 outside tests and benchmarks."""

    def setup(self):
        self.clock = clock_of(TicketingSettings.load(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.clock


class Policies(DependencyProvider):
    """The process's PolicyCache: each tenant's SLA policies, checked against the stored version
    by every write that uses them."""

    def setup(self):
        self.cache = PolicyCache()

    def get_dependency(self, worker_ctx):
        return self.cache


class SlaDue(BackgroundLoop, Entrypoint):
    """Calls the method as `method(tenant_id, ticket_id)` for each ticket whose alert is due.

    Settings: SLA_TIMER_INTERVAL (seconds between polls), SLA_TIMER_BATCH (tickets per poll).
    """

    def setup(self):
        settings = TicketingSettings.load(self.container.config)
        self.interval = settings.sla_timer_interval
        self.batch = settings.sla_timer_batch
        self.url = settings.system_database_url
        self.clock = clock_of(settings)
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
        for tenant_id, ticket_id in store.due_tickets(self.conn, self.clock.now(), self.batch):
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


class FileScanner(DependencyProvider):
    """Injects the scanner of uploaded files that TICKETING_ATTACHMENT_SCANNER names."""

    def setup(self):
        from services.ticketing.scanning import load_scanner

        self.scanner = load_scanner(
            TicketingSettings.load(self.container.config).ticketing_attachment_scanner
        )

    def get_dependency(self, worker_ctx):
        return self.scanner
