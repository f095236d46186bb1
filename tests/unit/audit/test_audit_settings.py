"""Audit's settings: today's defaults, secrets kept secret, every missing key named at once."""

import pytest

from services.audit.settings import AuditSettings
from shared import config
from shared.settings import SettingsError

REQUIRED = {
    "AMQP_URI": "amqp://audit@localhost/",
    "DATABASE_URL": "postgresql://audit_app@localhost/dzdesk_audit",
    "SYSTEM_DATABASE_URL": "postgresql://audit_system@localhost/dzdesk_audit",
}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as raised:
        AuditSettings.load({})

    assert raised.value.missing == ["AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL"]
    assert str(raised.value).startswith("audit settings: missing AMQP_URI")


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
    assert settings.audit_signing_key is None and settings.dzdesk_master_key is None
    assert settings.queue_type == "quorum"


def test_values_are_read_from_their_keys_and_secrets_are_not_shown():
    settings = AuditSettings.load(
        {
            **REQUIRED,
            "AUDIT_SOURCES": " identity, ai ,",
            "AUDIT_BATCH_SIZE": "50",
            "AUDIT_CHECKPOINT_INTERVAL": 0.1,
            "AUDIT_SIGNING_KEY": "not-shown",
            "DZDESK_MASTER_KEY": "not-shown-either",
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
