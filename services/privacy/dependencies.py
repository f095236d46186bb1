"""Privacy's own nameko dependency: the master keys (the saga loops live in `sagas/`)."""

from nameko.extensions import DependencyProvider

from services.privacy.settings import PrivacySettings


class MasterKeys(DependencyProvider):
    """The versioned master keys (DZDESK_MASTER_KEYS, or DZDESK_MASTER_KEY as version 1); the
    service refuses to start without them."""

    def setup(self):
        self.master_keys = PrivacySettings.load(self.container.config).master_keys()

    def get_dependency(self, worker_ctx):
        return self.master_keys
