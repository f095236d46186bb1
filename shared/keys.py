"""Subject keys for every service: fetched from privacy by RPC, cached, dropped on shredding."""
import base64
import socket

from eventlet.semaphore import Semaphore
from kombu import Connection, Consumer, Queue
from nameko.extensions import DependencyProvider

from shared.background import BackgroundLoop
from shared.crypto import FieldCipher, KeyCache
from shared.messaging import source_exchange
from shared.rpc import ClusterRpcClient


class RemoteKeyring:
    """A KeyProvider asking the privacy service, which alone holds the wrapped keys."""

    def __init__(self, config, timeout=10):
        self.config = config
        self.timeout = timeout
        self.cluster = None
        self.proxy = None
        # nameko's standalone proxy has one reply listener: one call at a time
        self.lock = Semaphore()

    def start(self):
        self.cluster = ClusterRpcClient({"AMQP_URI": self.config["AMQP_URI"]}, timeout=self.timeout)
        self.proxy = self.cluster.start()

    def stop(self):
        if self.cluster is not None:
            self.cluster.stop()
        self.cluster = self.proxy = None

    def get_key(self, tenant_id, subject_id, create=False):
        with self.lock:
            if self.proxy is None:
                self.start()
            value = self.proxy.privacy.get_subject_key(str(tenant_id), str(subject_id), create)
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
    """Injects a ServiceCipher; `privacy.subject_key_shredded` empties the cache at once."""

    idle_interval = 1.0

    def setup(self):
        config = self.container.config
        self.remote = RemoteKeyring(config)
        self.cache = KeyCache(self.remote, ttl_seconds=float(config.get("KEY_CACHE_TTL", 60)))

    def stop(self):
        super().stop()
        self.remote.stop()

    def get_dependency(self, worker_ctx):
        return ServiceCipher(self.cache)

    def run_once(self):
        # an exclusive queue per process: every instance of every service hears every shred
        queue = Queue(exclusive=True, auto_delete=True,
                      exchange=source_exchange("privacy"),
                      routing_key="subject_key_shredded")
        with Connection(self.container.config["AMQP_URI"]) as connection:
            with Consumer(connection, queues=[queue], callbacks=[self._on_shred],
                          no_ack=True, accept=["json"]):
                while self._running:
                    try:
                        connection.drain_events(timeout=1)
                    except socket.timeout:
                        continue
        return 0

    def _on_shred(self, body, message):
        self.cache.drop(body["tenant_id"], body["data"]["subject_id"])
