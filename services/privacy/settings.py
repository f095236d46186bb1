"""Privacy's typed settings: master keys, saga timings and participants, the restore check."""

from typing import ClassVar

from pydantic import SecretStr

from shared.crypto import MasterKeyRing
from shared.settings import CommaList, ServiceSettings

# the services holding personal data that erasure and export command, and those rectifying
DEFAULT_PARTICIPANTS = ("identity", "ticketing", "ai", "audit", "notifications")
DEFAULT_RECTIFIERS = ("identity",)


class PrivacySettings(ServiceSettings):
    service: ClassVar[str] = "privacy"

    # DZDESK_MASTER_KEYS ("<version>:<base64>,...", current first), else DZDESK_MASTER_KEY as
    # version 1; MasterKeys refuses to start without one of them
    dzdesk_master_key: SecretStr | None = None
    dzdesk_master_keys: SecretStr | None = None

    privacy_participants: CommaList = DEFAULT_PARTICIPANTS
    privacy_rectifiers: CommaList = DEFAULT_RECTIFIERS
    privacy_saga_poll_seconds: float = 1.0
    privacy_rpc_timeout_seconds: float = 30
    privacy_retry_base_seconds: float = 60
    privacy_retry_cap_seconds: float = 6 * 3600
    # how long a claimed call may stay unanswered (a crashed privacy process) before a retry
    privacy_receipt_timeout_seconds: float = 600
    privacy_escalate_after_failures: int = 5
    privacy_export_ttl_seconds: float = 7 * 86400

    # 0 turns the check against the audit log off (tests without audit); never in production
    privacy_reconcile_seconds: float = 60
    privacy_reconcile_page: int = 1000

    # user ids that are platform admins without holding the platform_admin role
    platform_admins: CommaList = ()

    def master_keys(self) -> MasterKeyRing:
        """The versioned master keys; MasterKeyError names what is missing or malformed."""
        return MasterKeyRing.from_config(
            {
                "DZDESK_MASTER_KEYS": _reveal(self.dzdesk_master_keys),
                "DZDESK_MASTER_KEY": _reveal(self.dzdesk_master_key),
            }
        )


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
