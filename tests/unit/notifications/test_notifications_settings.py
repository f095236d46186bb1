"""NotificationsSettings: every key notifications reads, typed; a missing key is named."""

import pytest

from services.notifications.settings import NotificationsSettings
from shared.config import nameko_config
from shared.settings import SettingsError

BASE = {"AMQP_URI": "amqp://x", "DATABASE_URL": "postgresql://a", "SYSTEM_DATABASE_URL": "p://s"}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as refused:
        NotificationsSettings.load({})

    assert refused.value.missing == ["AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL"]
    assert str(refused.value).startswith("notifications settings:")


def test_the_relay_is_local_and_plain_by_default():
    settings = NotificationsSettings.load(BASE)

    assert (settings.smtp_host, settings.smtp_port) == ("localhost", 8025)
    assert settings.smtp_starttls is False and settings.smtp_username == ""


def test_the_smtp_settings_travel_from_the_environment_and_the_password_stays_secret():
    env = {"SMTP_HOST": "smtp.example", "SMTP_PORT": "587", "SMTP_STARTTLS": "true"}
    env |= {"SMTP_USERNAME": "desk", "SMTP_PASSWORD": "hunter2", "NOTIFICATIONS_SEND_BATCH": "5"}
    settings = NotificationsSettings.load(nameko_config("notifications", env=env))

    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.example",
        587,
        True,
    )
    assert settings.notifications_send_batch == 5
    assert "hunter2" not in repr(settings)
    assert settings.smtp_password.get_secret_value() == "hunter2"


def test_an_invalid_value_is_named_without_its_value():
    with pytest.raises(SettingsError) as refused:
        NotificationsSettings.load({**BASE, "SMTP_PORT": "secret-ish"})

    assert [key for key, _ in refused.value.invalid] == ["SMTP_PORT"]
    assert "secret-ish" not in str(refused.value)
