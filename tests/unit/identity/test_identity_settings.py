"""Identity's typed settings: every key it reads, today's defaults, the missing ones named."""

import base64
import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.identity.dependencies import build_kit
from services.identity.settings import IdentitySettings
from services.identity.vault import SecretKeyError, Vault
from shared.crypto import encrypt_bytes
from shared.settings import SettingsError

REQUIRED = {
    "AMQP_URI": "amqp://guest:guest@localhost:5672/",
    "DATABASE_URL": "postgresql://identity_app@localhost/dzdesk_identity",
    "SYSTEM_DATABASE_URL": "postgresql://identity_system@localhost/dzdesk_identity",
    "IDENTITY_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as refused:
        IdentitySettings.load({})

    assert refused.value.missing == [
        "AMQP_URI",
        "DATABASE_URL",
        "IDENTITY_SECRET_KEY",
        "SYSTEM_DATABASE_URL",
    ]
    assert str(refused.value).startswith("identity settings: missing AMQP_URI")


def test_the_defaults_are_identitys_defaults():
    settings = IdentitySettings.load(REQUIRED)

    assert settings.google_client_ids == ()
    assert settings.google_certs_url == "https://www.googleapis.com/oauth2/v1/certs"
    assert settings.microsoft_client_id == ""
    assert settings.microsoft_client_secret.get_secret_value() == ""
    assert settings.microsoft_jwks_url == (
        "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    )
    assert settings.microsoft_issuer_template == "https://login.microsoftonline.com/{tid}/v2.0"
    assert settings.microsoft_authority == "https://login.microsoftonline.com/common"
    assert settings.microsoft_redirect_uri == "http://localhost:8080/v1/auth/microsoft/callback"
    assert settings.microsoft_allowed_tenants == ()
    assert (settings.token_issuer, settings.token_audience) == ("dzdesk-identity", "dzdesk")
    assert settings.access_token_ttl == 600
    assert settings.refresh_ttl == timedelta(days=30)
    assert settings.rotation_interval == timedelta(days=7)
    assert settings.login_flow_period == timedelta(minutes=10)
    assert settings.retired_key_retention == timedelta(seconds=660)
    assert settings.trusted_proxies == ("127.0.0.1", "::1")


def test_values_from_the_environment_are_typed():
    settings = IdentitySettings.load(
        {
            **REQUIRED,
            "GOOGLE_CLIENT_IDS": "a.apps, b.apps ,",
            "MICROSOFT_ALLOWED_TENANTS": "t1, t2",
            "ACCESS_TOKEN_TTL": "30",
            "REFRESH_TOKEN_TTL": "3600",
            "TRUSTED_PROXIES": "10.0.0.1",
        }
    )

    assert settings.google_client_ids == ("a.apps", "b.apps")
    assert settings.microsoft_allowed_tenants == ("t1", "t2")
    assert settings.access_token_ttl == 30 and settings.refresh_ttl == timedelta(hours=1)
    assert settings.trusted_proxies == ("10.0.0.1",)


def test_the_secrets_never_show():
    settings = IdentitySettings.load({**REQUIRED, "MICROSOFT_CLIENT_SECRET": "s3cret"})

    assert "s3cret" not in repr(settings)
    assert REQUIRED["IDENTITY_SECRET_KEY"] not in repr(settings)


def test_the_kit_is_built_from_the_settings_and_refuses_a_bad_secret_key():
    kit = build_kit(IdentitySettings.load({**REQUIRED, "MICROSOFT_ALLOWED_TENANTS": "t1"}))

    assert kit.microsoft.allowed_tenants == frozenset({"t1"})
    assert build_kit(IdentitySettings.load(REQUIRED)).microsoft.allowed_tenants is None
    assert len(kit.vault.directory_hash(("google", "sub"))) == 64
    with pytest.raises(SecretKeyError, match="IDENTITY_SECRET_KEY"):
        build_kit(IdentitySettings.load({**REQUIRED, "IDENTITY_SECRET_KEY": "bm90LWEta2V5"}))


def test_the_master_key_is_not_identitys():
    assert "DZDESK_MASTER_KEY" not in IdentitySettings.keys()
    settings = IdentitySettings.load({**REQUIRED, "DZDESK_MASTER_KEY": "ignored"})
    assert not hasattr(settings, "dzdesk_master_key")


def test_a_secret_key_with_the_old_master_keys_value_opens_what_was_sealed_under_it():
    # before IDENTITY_SECRET_KEY, the vault derived the same labels from DZDESK_MASTER_KEY
    value = REQUIRED["IDENTITY_SECRET_KEY"]
    master = base64.b64decode(value)
    old_sealing = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"dzdesk/identity/signing-keys/v1",
    ).derive(master)
    sealed = encrypt_bytes(old_sealing, b"private", b"kid-1")

    assert Vault(value).open_signing_key("kid-1", sealed) == b"private"
