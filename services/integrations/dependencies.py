"""nameko dependencies of the integrations service: the webhook secret box and the dispatcher.

The dispatcher is one loop per process finding due deliveries in every tenant (the system
role reads ids, states and instants only) and attempting each in a green thread of its own:
at most INTEGRATIONS_MAX_IN_FLIGHT at once, and at most INTEGRATIONS_MAX_IN_FLIGHT_PER_ENDPOINT
of one endpoint, so a slow or dead endpoint holds a few threads and never the others' turn.
A failing endpoint is tried by its retrying delivery alone (store.claim), and retries hold at
most half the threads: endpoints that time out again and again never take every thread from
the healthy ones.
A thread claims a delivery (FOR UPDATE SKIP LOCKED, then leased by moving its next_attempt_at
past the request's deadline) in a short transaction of its tenant, sends it, then records the
outcome and claims the endpoint's next due delivery in one more, until none is due: no
connection is held while the HTTP request runs, and a process that dies mid-request leaves
the delivery to be tried again once the lease is over (at least once).
"""

import collections

import eventlet
import prometheus_client
import psycopg
import structlog
from nameko.extensions import DependencyProvider
from psycopg_pool import ConnectionPool

from services.integrations import application, store
from services.integrations.delivery import Sender
from services.integrations.settings import IntegrationsSettings
from services.integrations.signing import SecretBox
from shared import metrics
from shared.background import BackgroundLoop
from shared.db import tenant_transaction
from shared.logs import describe_error

log = structlog.get_logger()

LEASE_MARGIN = 30.0
ATTEMPTS = prometheus_client.Counter(
    "dzdesk_webhook_attempts_total",
    "Webhook delivery attempts, by what became of the delivery",
    ["status"],
)
ATTEMPT_SECONDS = prometheus_client.Histogram(
    "dzdesk_webhook_attempt_seconds", "Duration of webhook delivery attempts"
)


class Secrets(DependencyProvider):
    """The box that seals webhook secrets, built once from INTEGRATIONS_SECRET_KEY."""

    def setup(self):
        settings = IntegrationsSettings.load(self.container.config)
        self.box = SecretBox(settings.integrations_secret_key.get_secret_value())

    def get_dependency(self, worker_ctx):
        return self.box


class Dispatcher(BackgroundLoop, DependencyProvider):
    """Delivers due webhook messages (see the module docstring); its pool serves the feed."""

    def setup(self):
        self.settings = settings = IntegrationsSettings.load(self.container.config)
        self.idle_interval = settings.integrations_dispatch_interval
        self.box = SecretBox(settings.integrations_secret_key.get_secret_value())
        self.pool = ConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=8,
            open=False,
            name=f"{self.container.service_name}-dispatch",
            kwargs={"autocommit": False},
        )
        metrics.POOLS.register(self.container.service_name, self.attr_name, self.pool)
        self.system = None
        self.sender = None
        self.threads = None
        self.in_flight = set()
        self.per_endpoint = collections.Counter()
        self.retrying = 0  # threads started for a retry that has not had its outcome yet

    def start(self):
        self.pool.open(wait=False)
        self.sender = Sender(self.settings)
        self.threads = eventlet.GreenPool(self.settings.integrations_max_in_flight)
        super().start()

    def stop(self):
        super().stop()
        if self.threads is not None:
            for thread in list(self.threads.coroutines_running):
                eventlet.kill(thread)  # spawn_n's threads are bare greenlets: no .kill()
        self.pool.close()
        metrics.POOLS.unregister(self.container.service_name, self.attr_name, self.pool)

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def run_once(self):
        if self.system is None:
            self.system = psycopg.connect(self.settings.system_database_url, autocommit=True)
        limit = self.settings.integrations_max_in_flight
        per_endpoint = self.settings.integrations_max_in_flight_per_endpoint
        if len(self.in_flight) >= limit:
            return self.idle_interval
        due = store.due(self.system, per_endpoint, self.settings.integrations_dispatch_batch)
        for tenant_id, delivery_id, webhook_id, retry in due:
            if len(self.in_flight) >= limit:
                break
            if delivery_id in self.in_flight or self.per_endpoint[webhook_id] >= per_endpoint:
                continue
            if retry and self.retrying >= max(1, limit // 2):
                continue
            self.in_flight.add(delivery_id)
            self.per_endpoint[webhook_id] += 1
            self.retrying += retry
            self.threads.spawn_n(self._serve, tenant_id, delivery_id, webhook_id, retry)
        return self.idle_interval

    def _serve(self, tenant_id, delivery_id, webhook_id, retry=False):
        """Attempt the delivery, then the endpoint's next due ones while there are any: one
        of the endpoint's few threads, which records each outcome and claims the next in one
        transaction."""
        lease = self.settings.integrations_request_deadline + LEASE_MARGIN
        try:
            with tenant_transaction(self.pool, tenant_id) as conn:
                claimed = store.claim(conn, webhook_id, lease, delivery_id)
                if claimed is None:  # a sibling took it: the endpoint's next, then
                    claimed = store.claim(conn, webhook_id, lease)
            while claimed is not None and self._running:
                outcome = self._send(tenant_id, webhook_id, claimed)
                with tenant_transaction(self.pool, tenant_id) as conn:
                    status = application.record_outcome(
                        conn, tenant_id, claimed, outcome, self.settings.retry_schedule
                    )
                    claimed = store.claim(conn, webhook_id, lease)
                ATTEMPTS.labels(status).inc()
                ATTEMPT_SECONDS.observe(outcome.duration_ms / 1000)
                if retry:  # answered or not, it no longer holds a retry's thread
                    self.retrying -= 1
                    retry = False
        except Exception as exc:
            # the lease runs out and the delivery is tried again: nothing is lost
            log.warning(
                "webhook delivery could not be recorded",
                webhook_id=webhook_id,
                error=describe_error(exc),
            )
        finally:
            if retry:
                self.retrying -= 1
            self.in_flight.discard(delivery_id)
            self.per_endpoint[webhook_id] -= 1
            if self.per_endpoint[webhook_id] <= 0:
                del self.per_endpoint[webhook_id]

    def _send(self, tenant_id, webhook_id, claimed):
        secret = self.box.open(tenant_id, webhook_id, claimed["secret"])
        outcome = self.sender.send(
            claimed["url"], secret, claimed["message_id"], claimed["payload"]
        )
        (log.debug if outcome.delivered else log.info)(
            "webhook delivery attempted",
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            delivery_id=claimed["delivery_id"],
            response_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
        return outcome

    def reset(self):
        if self.system is not None:
            try:
                self.system.close()
            except Exception:
                pass
        self.system = None
