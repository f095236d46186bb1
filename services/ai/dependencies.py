"""nameko dependencies of the ai service: the process's tenant models, the text provider, the
user directory."""

import eventlet
import structlog
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider

from services.ai.models.registry import TenantModels
from services.ai.settings import AiSettings
from services.ai.text.providers import LocalProvider, provider_from_settings

log = structlog.get_logger()


class Models(DependencyProvider):
    """One TenantModels per service process, shared by its workers, within AI_MODEL_CACHE_MIB."""

    def setup(self):
        # its own reading of the settings: nameko sets providers up in no fixed order, and the
        # models must exist before any provider starts
        self.settings = AiSettings.load(self.container.config)
        self.models = TenantModels(self.settings.ai_model_cache_mib)

    def get_dependency(self, worker_ctx):
        return self.models


class TextProvider(DependencyProvider):
    """Azure OpenAI when AZURE_OPENAI_* are configured (with the local one as fallback), else
    local."""

    def start(self):
        # in start, not setup: the Models provider must have been set up first
        models = next(dep for dep in self.container.dependencies if isinstance(dep, Models))
        self.provider = provider_from_settings(
            models.settings, LocalProvider(models.models.registry)
        )

    def stop(self):
        close = getattr(getattr(self, "provider", None), "close", None)
        if close is not None:
            close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.provider


def directory_users(identity, tenant_id, timeout):
    """identity's ``list_users(tenant_id)``, or [] when identity does not answer in time."""
    try:
        with eventlet.Timeout(timeout):
            return list(identity.list_users(str(tenant_id)) or [])
    except eventlet.Timeout:
        log.warning("ai.identity_unavailable", reason="timeout")
    except (UnknownService, RemoteError) as exc:
        log.warning("ai.identity_unavailable", reason=type(exc).__name__)
    return []
