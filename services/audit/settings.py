"""Audit's typed settings: ingest bursts, the sources it binds, checkpoints and its keys."""

from typing import ClassVar

from pydantic import SecretStr

from shared.config import SERVICES
from shared.settings import CommaList, ServiceSettings, SettingsError

# every service of the suite: a new one is audited without a change here
DEFAULT_SOURCES = SERVICES
_EITHER = ("AUDIT_SECRET_KEY", "AUDIT_SIGNING_KEY")


class AuditSettings(ServiceSettings):
    """Every key audit reads; each field reads the key of its upper-cased name."""

    service: ClassVar[str] = "audit"

    # the services whose `<service>.events` exchange audit binds with `#`
    audit_sources: CommaList = DEFAULT_SOURCES
    # a burst: up to this many messages, or what arrives this long after the first
    audit_batch_size: int = 500
    audit_batch_ms: float = 50
    audit_prefetch: int = 1000
    # seconds between scheduled checkpoint rounds; 0 turns the schedule off
    audit_checkpoint_interval: float = 300
    # an Ed25519 private key (PEM, base64 PEM or base64 of 32 raw bytes); without it the key
    # is generated once and stored encrypted under AUDIT_SECRET_KEY, audit's own secret (the
    # base64 of 32 bytes), which is then required
    audit_signing_key: SecretStr | None = None
    audit_secret_key: SecretStr | None = None

    @classmethod
    def load(cls, config):
        """As ServiceSettings.load; AUDIT_SECRET_KEY is missing when neither key is given."""
        missing = set()
        if not any(str(config.get(key) or "").strip() for key in _EITHER):
            missing.add("AUDIT_SECRET_KEY")
        try:
            settings = super().load(config)
        except SettingsError as error:
            raise SettingsError(cls.service, {*error.missing, *missing}, error.invalid) from None
        if missing:
            raise SettingsError(cls.service, missing, ())
        return settings

    @classmethod
    def keys(cls, production=False):
        # required unless AUDIT_SIGNING_KEY is given: what compose and Kubernetes give audit
        return {**super().keys(production), "AUDIT_SECRET_KEY": True}

    @property
    def batch_wait(self):
        """AUDIT_BATCH_MS in seconds."""
        return self.audit_batch_ms / 1000
