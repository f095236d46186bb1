"""Audit's typed settings: ingest bursts, the sources it binds, checkpoints and the signing key."""

from typing import ClassVar

from pydantic import SecretStr

from shared.config import SERVICES
from shared.settings import CommaList, ServiceSettings

# every service of the suite: a new one is audited without a change here
DEFAULT_SOURCES = SERVICES


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
    # is generated once and stored encrypted under DZDESK_MASTER_KEY
    audit_signing_key: SecretStr | None = None
    dzdesk_master_key: SecretStr | None = None

    @property
    def batch_wait(self):
        """AUDIT_BATCH_MS in seconds."""
        return self.audit_batch_ms / 1000
