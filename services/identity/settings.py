"""Identity's typed settings: the sign-in providers, its tokens' lifetimes and its secret key."""

from datetime import timedelta

from pydantic import SecretStr

from services.identity.federation import MICROSOFT_ISSUER_TEMPLATE
from shared.settings import CommaList, ServiceSettings

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/common"
MICROSOFT_REDIRECT_URI = "http://localhost:8080/v1/auth/microsoft/callback"


class IdentitySettings(ServiceSettings):
    """Every key identity reads; lifetimes and intervals are in seconds."""

    service = "identity"

    google_client_ids: CommaList = ()
    google_certs_url: str = GOOGLE_CERTS_URL
    microsoft_client_id: str = ""
    microsoft_client_secret: SecretStr = SecretStr("")
    microsoft_jwks_url: str = MICROSOFT_JWKS_URL
    microsoft_issuer_template: str = MICROSOFT_ISSUER_TEMPLATE
    microsoft_authority: str = MICROSOFT_AUTHORITY
    microsoft_redirect_uri: str = MICROSOFT_REDIRECT_URI
    # empty: Microsoft accounts of any Entra tenant may sign in
    microsoft_allowed_tenants: CommaList = ()
    # identity's own secret: its signing-key sealing and directory keys are derived from it
    # (services.identity.vault); no other service has it
    identity_secret_key: SecretStr
    token_issuer: str = "dzdesk-identity"
    token_audience: str = "dzdesk"
    access_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 86400
    signing_key_rotation_interval: int = 7 * 86400
    login_flow_ttl: int = 600
    trusted_proxies: CommaList = ("127.0.0.1", "::1")

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(seconds=self.refresh_token_ttl)

    @property
    def rotation_interval(self) -> timedelta:
        return timedelta(seconds=self.signing_key_rotation_interval)

    @property
    def login_flow_period(self) -> timedelta:
        return timedelta(seconds=self.login_flow_ttl)

    @property
    def retired_key_retention(self) -> timedelta:
        # a retired key verifies every token it signed until the last of them has expired
        return timedelta(seconds=self.access_token_ttl + 60)
