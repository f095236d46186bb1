"""Privacy's settings: today's defaults, every missing key named, master keys kept secret."""

import base64

import pytest

from services.privacy.sagas.kinds import participants, saga_policy
from services.privacy.settings import DEFAULT_PARTICIPANTS, PrivacySettings
from shared.settings import SettingsError

REQUIRED = {"AMQP_URI": "amqp://x", "DATABASE_URL": "postgresql://a", "SYSTEM_DATABASE_URL": "s"}
KEY = base64.b64encode(bytes(range(32))).decode()
OLD = base64.b64encode(bytes(range(1, 33))).decode()


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as raised:
        PrivacySettings.load({})
    assert raised.value.missing == ["AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL"]
    assert "privacy settings" in str(raised.value)


def test_defaults_are_todays():
    settings = PrivacySettings.load(REQUIRED)
    assert settings.privacy_participants == DEFAULT_PARTICIPANTS
    assert participants(settings, "erasure") == [
        "identity",
        "ticketing",
        "ai",
        "audit",
        "notifications",
    ]
    assert participants(settings, "rectification") == ["identity"]
    assert settings.privacy_saga_poll_seconds == 1.0
    assert settings.privacy_rpc_timeout_seconds == 30
    assert settings.privacy_reconcile_seconds == 60
    assert settings.privacy_reconcile_page == 1000
    assert settings.platform_admins == ()
    policy = saga_policy(settings)
    assert policy.retry_base.total_seconds() == 60
    assert policy.retry_cap.total_seconds() == 6 * 3600
    assert policy.receipt_timeout.total_seconds() == 600
    assert policy.escalate_after_failures == 5
    assert policy.bundle_ttl.total_seconds() == 7 * 86400
    assert policy.authorised_roles == {"privacy_officer", "admin"}


def test_values_from_the_config_are_typed():
    settings = PrivacySettings.load(
        {
            **REQUIRED,
            "PRIVACY_PARTICIPANTS": "profiles, notes,profiles",
            "PRIVACY_SAGA_POLL_SECONDS": "0.05",
            "PRIVACY_ESCALATE_AFTER_FAILURES": "3",
            "PLATFORM_ADMINS": "u1, ,u2",
        }
    )
    assert participants(settings, "export") == ["profiles", "notes"]
    assert settings.privacy_saga_poll_seconds == 0.05
    assert settings.privacy_escalate_after_failures == 3
    assert settings.platform_admins == ("u1", "u2")


def test_master_keys_are_secret_and_build_the_ring():
    settings = PrivacySettings.load({**REQUIRED, "DZDESK_MASTER_KEY": KEY})
    assert KEY not in repr(settings)
    assert settings.master_keys().current_version == 1
    listed = PrivacySettings.load({**REQUIRED, "DZDESK_MASTER_KEYS": f"2:{KEY},1:{OLD}"})
    assert listed.master_keys().versions == [2, 1]


def test_an_invalid_value_is_named_without_its_value():
    with pytest.raises(SettingsError) as raised:
        PrivacySettings.load({**REQUIRED, "PRIVACY_RECONCILE_PAGE": "lots"})
    assert [key for key, _ in raised.value.invalid] == ["PRIVACY_RECONCILE_PAGE"]
    assert "lots" not in str(raised.value)
