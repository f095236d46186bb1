"""The integrations settings: required keys named at once, and the default schedule's span."""

import pytest

from services.integrations.settings import IntegrationsSettings
from shared.settings import SettingsError


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as missing:
        IntegrationsSettings.load({})
    assert missing.value.missing == [
        "AMQP_URI",
        "DATABASE_URL",
        "INTEGRATIONS_SECRET_KEY",
        "SYSTEM_DATABASE_URL",
    ]


REQUIRED = {
    "AMQP_URI": "amqp://x",
    "DATABASE_URL": "postgresql://a",
    "SYSTEM_DATABASE_URL": "postgresql://s",
    "INTEGRATIONS_SECRET_KEY": "not-to-be-shown",
}


def test_the_default_schedule_retries_for_more_than_a_day():
    settings = IntegrationsSettings.load(REQUIRED)
    assert settings.retry_schedule[0] == 0
    assert sum(settings.retry_schedule) >= 24 * 3600
    assert list(settings.retry_schedule) == sorted(settings.retry_schedule)
    assert settings.ca_bundle is True
    assert "not-to-be-shown" not in repr(settings)


def test_the_schedule_and_the_allow_list_read_comma_lists():
    settings = IntegrationsSettings.load(
        {
            **REQUIRED,
            "INTEGRATIONS_RETRY_SCHEDULE": "0, 0.1, 0.2",
            "INTEGRATIONS_ALLOWED_HOSTS": "127.0.0.1/32, receiver.internal",
        }
    )
    assert settings.retry_schedule == (0.0, 0.1, 0.2)
    assert settings.integrations_allowed_hosts == ("127.0.0.1/32", "receiver.internal")


def test_an_invalid_number_is_named_without_its_value():
    with pytest.raises(SettingsError) as invalid:
        IntegrationsSettings.load({**REQUIRED, "INTEGRATIONS_READ_TIMEOUT": "soon"})
    assert "INTEGRATIONS_READ_TIMEOUT" in str(invalid.value)
    assert "soon" not in str(invalid.value)
