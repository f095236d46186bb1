"""Calls to privacy participants (purge_subject, export_subject, rectify_subject) with a timeout,
and the start-up every loop calling them shares: settings, master keys, a pool, a caller."""

import eventlet
import structlog
from eventlet.greenpool import GreenPool
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from psycopg_pool import ConnectionPool

from services.privacy.settings import PrivacySettings
from shared import metrics
from shared.background import BackgroundLoop
from shared.db import tenant_transaction
from shared.logs import describe_error
from shared.rpc import ClusterRpcClient

log = structlog.get_logger()


class ParticipantError(Exception):
    """A participant answered with something that is not a receipt or an export."""


class ParticipantCaller:
    """One standalone proxy per participant: nameko's proxy has one reply listener, so one
    call at a time on each; different participants are called in parallel."""

    def __init__(self, amqp_uri, timeout):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.clusters = {}
        self.locks = {}

    def call_all(self, calls):
        """calls: [(participant, method, args)] -> [(ok, result or error text)], in order."""
        pool = GreenPool(max(1, len(calls)))
        return list(pool.imap(lambda call: self._call(*call), calls))

    def _call(self, participant, method, args):
        lock = self.locks.setdefault(participant, Semaphore())
        with lock:
            try:
                proxy = self._proxy(participant)
                # the proxy's own timeout covers the wait for the reply; the outer one
                # covers a broker that does not even confirm the publish
                with eventlet.Timeout(self.timeout * 2):
                    result = getattr(getattr(proxy, participant), method)(*args)
                if not isinstance(result, dict):
                    raise ParticipantError(
                        f"{method} returned {type(result).__name__}, not an object"
                    )
                return True, result
            except (Exception, eventlet.Timeout) as exc:
                log.warning(
                    "privacy participant call failed",
                    participant=participant,
                    method=method,
                    error=type(exc).__name__,
                )
                self._discard(participant)
                return False, describe_error(exc)[:300]

    def _proxy(self, participant):
        if participant not in self.clusters:
            cluster = ClusterRpcClient({"AMQP_URI": self.amqp_uri}, timeout=self.timeout)
            self.clusters[participant] = (cluster, cluster.start())
        return self.clusters[participant][1]

    def _discard(self, participant):
        # after a timeout or broken connection a fresh proxy is the simplest safe state
        cluster = self.clusters.pop(participant, None)
        if cluster is not None:
            try:
                cluster[0].stop()
            except Exception:
                pass

    def stop(self):
        for participant in list(self.clusters):
            self._discard(participant)


class ParticipantLoop(BackgroundLoop, DependencyProvider):
    """A background loop of privacy's that writes in tenant transactions and calls
    participants: its own small pool (named `pool_name`) and caller, closed when it stops.
    Injects itself."""

    pool_name = "privacy"

    def setup(self):
        self.settings = PrivacySettings.load(self.container.config)
        self.master_keys = self.settings.master_keys()
        self.pool = ConnectionPool(
            self.settings.database_url,
            min_size=1,
            max_size=2,
            open=False,
            name=self.pool_name,
            kwargs={"autocommit": False},
        )
        metrics.POOLS.register(self.container.service_name, self.attr_name, self.pool)
        self.caller = ParticipantCaller(
            self.settings.amqp_uri, self.settings.privacy_rpc_timeout_seconds
        )

    def start(self):
        self.pool.open(wait=False)
        super().start()

    def stop(self):
        super().stop()
        self.caller.stop()
        self.pool.close()
        metrics.POOLS.unregister(self.container.service_name, self.attr_name, self.pool)

    def get_dependency(self, worker_ctx):
        return self

    def transaction(self, tenant_id):
        """Committed at the end of the block, rolled back when it raises."""
        return tenant_transaction(self.pool, tenant_id)
