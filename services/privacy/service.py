"""The privacy service: nameko entrypoints only; the work lives in its domain modules."""
import base64

from nameko.extensions import DependencyProvider

from services.privacy.keyring import Keyring
from shared.crypto import MasterKey
from shared.db import Database
from shared.health import HealthMixin
from shared.logs import WorkerLogContext
from shared.relay import OutboxRelay
from shared.rpc import rpc


class MasterKeyring(DependencyProvider):
    """The master key from DZDESK_MASTER_KEY; the service refuses to start without it."""

    def setup(self):
        self.master_key = MasterKey.from_env_value(self.container.config.get("DZDESK_MASTER_KEY"))

    def get_dependency(self, worker_ctx):
        return self.master_key


class PrivacyService(HealthMixin):
    name = "privacy"

    db = Database()
    log_context = WorkerLogContext()
    relay = OutboxRelay()
    master_key = MasterKeyring()

    def keyring(self, tenant_id):
        return Keyring(self.db.begin(tenant_id), self.master_key)

    @rpc
    def get_subject_key(self, tenant_id, subject_id, create=False):
        """The subject's data key (base64), created on first use; None once shredded."""
        key = self.keyring(tenant_id).get_key(tenant_id, subject_id, create)
        return base64.b64encode(key).decode() if key else None

    @rpc
    def shred_subject_key(self, tenant_id, subject_id, actor):
        """Crypto-shred a subject: every copy of their personal fields becomes unreadable."""
        if not self.keyring(tenant_id).shred(tenant_id, subject_id):
            return False
        shredded = self.db.new_event("subject_key_shredded", f"subject-{subject_id}",
                                     {"subject_id": subject_id}, actor=actor)
        self.db.append(shredded.stream_id, self.db.version(shredded.stream_id), [shredded])
        return True
