"""Identity's configuration as one dependency: verifiers, token lifetimes and identity's own secrets.

Identity's secrets are derived from ``DZDESK_MASTER_KEY`` with HKDF under identity-only labels,
so no other service's keys can be computed from them and nothing secret is stored in clear:

* the signing-key sealing key: private signing keys are stored AES-256-GCM encrypted, bound
  to their kid, so a database dump yields no key that could mint tokens;
* the directory key: external account keys (``google``/sub, ``microsoft``/tid/oid) and
  organization keys (``hd``, ``tid``) are stored only as HMAC-SHA256 under it, so the
  tenant-agnostic directory tables hold nothing that identifies a person or an organization.

Rotating the master key therefore means re-sealing the signing keys and re-hashing the
directory (a one-off job holding both keys); the master key is stable in practice because
privacy's wrapped subject keys depend on it the same way.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nameko.extensions import DependencyProvider

from services.identity.federation import (
    MICROSOFT_ISSUER_TEMPLATE,
    GoogleVerifier,
    MicrosoftAuthCodeFlow,
    MicrosoftVerifier,
)
from shared.crypto import MasterKey, decrypt_bytes, encrypt_bytes

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/common"
MICROSOFT_REDIRECT_URI = "http://localhost:8080/v1/auth/microsoft/callback"


def _csv(value) -> list[str]:
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


def _derive(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(master)


class Vault:
    """Identity's secrets derived from the master key (see the module docstring)."""

    def __init__(self, master_key_value: str | None):
        MasterKey.from_env_value(master_key_value)  # the same checks and messages as privacy
        master = base64.b64decode(master_key_value.strip())
        self._sealing_key = _derive(master, "dzdesk/identity/signing-keys/v1")
        self._directory_key = _derive(master, "dzdesk/identity/directory/v1")

    def seal_signing_key(self, kid: str, raw: bytes) -> bytes:
        return encrypt_bytes(self._sealing_key, raw, kid.encode())

    def open_signing_key(self, kid: str, sealed: bytes) -> bytes:
        return decrypt_bytes(self._sealing_key, sealed, kid.encode())

    def directory_hash(self, key: tuple) -> str:
        """The keyed hash a directory row is found by; ``key`` is an account or org key tuple."""
        canonical = "\x1f".join(str(part) for part in key).encode()
        return hmac.new(self._directory_key, canonical, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Settings:
    google: GoogleVerifier
    microsoft: MicrosoftVerifier
    microsoft_flow: MicrosoftAuthCodeFlow
    vault: Vault
    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: timedelta
    rotation_interval: timedelta
    login_flow_ttl: timedelta
    trusted_proxies: frozenset

    @property
    def retired_key_retention(self) -> timedelta:
        # a retired key verifies every token it signed until the last of them has expired
        return timedelta(seconds=self.access_ttl + 60)


def build_settings(config: dict) -> Settings:
    allowed = _csv(config.get("MICROSOFT_ALLOWED_TENANTS"))
    microsoft = MicrosoftVerifier(
        str(config.get("MICROSOFT_CLIENT_ID", "")),
        config.get("MICROSOFT_JWKS_URL", MICROSOFT_JWKS_URL),
        config.get("MICROSOFT_ISSUER_TEMPLATE", MICROSOFT_ISSUER_TEMPLATE),
        allowed_tenants=allowed or None,
    )
    flow = MicrosoftAuthCodeFlow(
        str(config.get("MICROSOFT_CLIENT_ID", "")),
        str(config.get("MICROSOFT_CLIENT_SECRET", "")),
        config.get("MICROSOFT_AUTHORITY", MICROSOFT_AUTHORITY),
        config.get("MICROSOFT_REDIRECT_URI", MICROSOFT_REDIRECT_URI),
        ["email"],
        microsoft,
    )
    return Settings(
        google=GoogleVerifier(
            _csv(config.get("GOOGLE_CLIENT_IDS")), config.get("GOOGLE_CERTS_URL", GOOGLE_CERTS_URL)
        ),
        microsoft=microsoft,
        microsoft_flow=flow,
        vault=Vault(config.get("DZDESK_MASTER_KEY")),
        issuer=config.get("TOKEN_ISSUER", "dzdesk-identity"),
        audience=config.get("TOKEN_AUDIENCE", "dzdesk"),
        access_ttl=int(config.get("ACCESS_TOKEN_TTL", 600)),
        refresh_ttl=timedelta(seconds=int(config.get("REFRESH_TOKEN_TTL", 30 * 86400))),
        rotation_interval=timedelta(
            seconds=int(config.get("SIGNING_KEY_ROTATION_INTERVAL", 7 * 86400))
        ),
        login_flow_ttl=timedelta(seconds=int(config.get("LOGIN_FLOW_TTL", 600))),
        trusted_proxies=frozenset(_csv(config.get("TRUSTED_PROXIES", "127.0.0.1,::1"))),
    )


class IdentitySettings(DependencyProvider):
    """Built once per process in setup(); the service refuses to start without a master key."""

    def setup(self):
        self.settings = build_settings(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
