"""Subject keys for every service: fetched from privacy by RPC, cached, dropped on shredding."""

import base64
import time

import eventlet
from amqp.exceptions import ChannelError
from eventlet.semaphore import Semaphore
from kombu import Connection, Consumer, Queue
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider

from shared.background import BackgroundLoop
from shared.crypto import FieldCipher, KeyCache
from shared.errors import DependencyUnavailable, KeysNotReconciled
from shared.messaging import source_exchange
from shared.rpc import QUICK_RETRY, ClusterRpcClient

# what a call meets when the broker (or privacy behind it) is away
UNREACHABLE = (OSError, OperationalError, RpcTimeout, UnknownService, ChannelError)
# privacy answers this until it has checked its keys against the audit log (after a restore)
NOT_YET = KeysNotReconciled.__name__


class RemoteKeyring:
    """A KeyProvider asking the privacy service, which alone holds the wrapped keys.

    A call that cannot reach privacy raises DependencyUnavailable within `timeout` (at once
    when the broker refuses connections, and at once for `pause` seconds after a failure),
    so a request that needs a new key answers 503 quickly instead of hanging."""

    def __init__(self, config, timeout=None, pause=1.0):
        self.config = config
        self.timeout = float(timeout or config.get("RPC_TIMEOUT", 5))
        self.pause = pause
        self.unavailable_until = 0.0
        self.cluster = None
        self.proxy = None
        # nameko's standalone proxy has one reply listener: one call at a time
        self.lock = Semaphore()

    def start(self):
        # one quick reconnection on a broken pooled connection, then the caller decides; each
        # request is signed with this service's broker user
        self.cluster = ClusterRpcClient(
            {"AMQP_URI": self.config["AMQP_URI"]},
            timeout=self.timeout,
            publish={"retry_policy": QUICK_RETRY},
        )
        self.proxy = self.cluster.start().privacy

    def stop(self):
        cluster, self.cluster, self.proxy = self.cluster, None, None
        if cluster is not None:
            try:
                cluster.stop()
            except UNREACHABLE:
                pass  # its connection is already gone

    def _ask(self, tenant_id, subject_id, create):
        if self.proxy is None:
            self.start()
        try:
            return self.proxy.get_subject_key(tenant_id, subject_id, create)
        except ChannelError:
            # the client's reply queue lived on a cluster node that is now down (a queue
            # that node held cannot be declared elsewhere): a fresh client has a new reply
            # queue on a node that answers
            self.stop()
            self.start()
            return self.proxy.get_subject_key(tenant_id, subject_id, create)

    def get_key(self, tenant_id, subject_id, create=False):
        unavailable = DependencyUnavailable("subject keys cannot be fetched now; try again shortly")
        if time.monotonic() < self.unavailable_until or not self.lock.acquire(timeout=self.timeout):
            raise unavailable
        try:
            with eventlet.Timeout(self.timeout, DependencyUnavailable("privacy did not answer")):
                value = self._ask(str(tenant_id), str(subject_id), create)
        except RemoteError as exc:
            if exc.exc_type != NOT_YET:
                raise
            raise unavailable from exc  # not "shredded": privacy has yet to check its keys
        except (*UNREACHABLE, DependencyUnavailable) as exc:
            self.unavailable_until = time.monotonic() + self.pause
            self.stop()
            raise unavailable from exc
        finally:
            self.lock.release()
        return base64.b64decode(value) if value else None


class ServiceCipher(FieldCipher):
    """The injected cipher; `forget` drops a subject's cached key before an erasure purge,
    so the purge never re-reads plaintext through a key the shred broadcast has yet to drop."""

    def __init__(self, cache):
        super().__init__(cache)
        self._cache = cache

    def forget(self, tenant_id, subject_id):
        self._cache.drop(str(tenant_id), str(subject_id))


class SubjectKeys(BackgroundLoop, DependencyProvider):
    """Injects a ServiceCipher over a bounded cache (KEY_CACHE_SIZE entries, KEY_CACHE_TTL
    seconds, usable KEY_CACHE_MAX_STALE seconds longer while privacy cannot be reached);
    `privacy.subject_key_shredded` drops a key at once. Each time the shred listener
    (re)connects, every cached key is re-checked at its next use: a broadcast sent while
    this process was cut off from the broker is never heard."""

    idle_interval = 1.0
    _connection = None

    def setup(self):
        config = self.container.config
        self.remote = RemoteKeyring(config)
        self.cache = KeyCache(
            self.remote,
            ttl_seconds=float(config.get("KEY_CACHE_TTL", 60)),
            max_entries=int(config.get("KEY_CACHE_SIZE", 10_000)),
            max_stale_seconds=float(config.get("KEY_CACHE_MAX_STALE", 900)),
        )

    def stop(self):
        super().stop()
        self.remote.stop()

    def get_dependency(self, worker_ctx):
        return ServiceCipher(self.cache)

    def start(self):
        # listen before the service counts as started: a shred right after start is heard
        try:
            self._connection = self._listen()
        except UNREACHABLE:
            self._connection = None  # the broker is away: the loop keeps trying
        super().start()

    def _listen(self):
        # an exclusive queue per process: every instance of every service hears every shred
        queue = Queue(
            exclusive=True,
            auto_delete=True,
            exchange=source_exchange("privacy"),
            routing_key="subject_key_shredded",
        )
        connection = Connection(self.container.config["AMQP_URI"])
        try:
            Consumer(
                connection, queues=[queue], callbacks=[self._on_shred], no_ack=True, accept=["json"]
            ).consume()
        except BaseException:
            connection.release()
            raise
        self.cache.expire_all()  # listening from now on: re-check what came before
        return connection

    def reset(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.release()

    def run_once(self):
        connection, self._connection = self._connection or self._listen(), None
        try:
            while self._running:
                try:
                    connection.drain_events(timeout=1)
                except TimeoutError:
                    continue
        finally:
            connection.release()
        return 0

    def _on_shred(self, body, message):
        self.cache.drop(body["tenant_id"], body["data"]["subject_id"])
