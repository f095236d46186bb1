"""Identity's own nameko dependency: the providers' verifiers and its vault, built once."""

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.identity.federation import GoogleVerifier, MicrosoftAuthCodeFlow, MicrosoftVerifier
from services.identity.settings import IdentitySettings
from services.identity.vault import Vault


@dataclass(frozen=True)
class SignInKit:
    """What identity builds from its settings: each provider's verifier, and its vault."""

    google: GoogleVerifier
    microsoft: MicrosoftVerifier
    microsoft_flow: MicrosoftAuthCodeFlow
    vault: Vault


def build_kit(settings: IdentitySettings) -> SignInKit:
    microsoft = MicrosoftVerifier(
        settings.microsoft_client_id,
        settings.microsoft_jwks_url,
        settings.microsoft_issuer_template,
        allowed_tenants=settings.microsoft_allowed_tenants or None,
    )
    flow = MicrosoftAuthCodeFlow(
        settings.microsoft_client_id,
        settings.microsoft_client_secret.get_secret_value(),
        settings.microsoft_authority,
        settings.microsoft_redirect_uri,
        ["email"],
        microsoft,
    )
    return SignInKit(
        google=GoogleVerifier(settings.google_client_ids, settings.google_certs_url),
        microsoft=microsoft,
        microsoft_flow=flow,
        vault=Vault(settings.identity_secret_key.get_secret_value()),
    )


class SignIn(DependencyProvider):
    """Built once per process in setup(): the verifiers keep their key caches between
    requests, and the service refuses to start without a valid IDENTITY_SECRET_KEY."""

    def setup(self):
        self.kit = build_kit(IdentitySettings.load(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.kit
