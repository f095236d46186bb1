"""Audit's settings: today's defaults, secrets kept secret, every missing key named at once."""

import pytest

from services.audit.settings import AuditSettings
from shared import config
from shared.settings import SettingsError

REQUIRED = {
    "AMQP_URI": "amqp://audit@localhost/",
    "DATABASE_URL": "postgresql://audit_app@localhost/dzdesk_audit",
    "SYSTEM_DATABASE_URL": "postgresql://audit_system@localhost/dzdesk_audit",
    "AUDIT_SECRET_KEY": "c2VjcmV0",
}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as raised:
        AuditSettings.load({})

    assert raised.value.missing == [
        "AMQP_URI",
        "AUDIT_SECRET_KEY",
        "DATABASE_URL",
        "SYSTEM_DATABASE_URL",
    ]
    assert str(raised.value).startswith("audit settings: missing AMQP_URI")


def test_a_configured_signing_key_needs_no_secret_key_and_the_master_key_is_not_audits():
    without = {key: value for key, value in REQUIRED.items() if key != "AUDIT_SECRET_KEY"}
    settings = AuditSettings.load({**without, "AUDIT_SIGNING_KEY": "k"})

    assert settings.audit_secret_key is None
    assert AuditSettings.keys()["AUDIT_SECRET_KEY"] is True
    assert "DZDESK_MASTER_KEY" not in AuditSettings.keys()


def test_the_defaults_are_today_s():
    settings = AuditSettings.load(REQUIRED)

    assert settings.audit_sources == config.SERVICES  # every service, integrations included
    assert {"identity", "ticketing", "privacy", "audit", "ai", "integrations"} <= set(
        settings.audit_sources
    )
    assert (settings.audit_batch_size, settings.audit_batch_ms, settings.audit_prefetch) == (
        500,
        50,
        1000,
    )
    assert settings.batch_wait == 0.05
    assert settings.audit_checkpoint_interval == 300
    assert settings.audit_signing_key is None
    assert settings.queue_type == "quorum"


def test_values_are_read_from_their_keys_and_secrets_are_not_shown():
    settings = AuditSettings.load(
        {
            **REQUIRED,
            "AUDIT_SOURCES": " identity, ai ,",
            "AUDIT_BATCH_SIZE": "50",
            "AUDIT_CHECKPOINT_INTERVAL": 0.1,
            "AUDIT_SIGNING_KEY": "not-shown",
            "AUDIT_SECRET_KEY": "not-shown-either",
        }
    )

    assert settings.audit_sources == ("identity", "ai")
    assert (settings.audit_batch_size, settings.audit_checkpoint_interval) == (50, 0.1)
    assert settings.audit_signing_key.get_secret_value() == "not-shown"
    assert "not-shown" not in repr(settings)


def test_an_invalid_value_is_named_without_its_value():
    with pytest.raises(SettingsError) as raised:
        AuditSettings.load({**REQUIRED, "AUDIT_BATCH_SIZE": "many"})

    assert [key for key, _ in raised.value.invalid] == ["AUDIT_BATCH_SIZE"]
    assert "many" not in str(raised.value)
