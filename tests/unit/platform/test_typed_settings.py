"""shared.settings: typed settings read once, every missing or invalid key named, no value shown."""

import pytest
from pydantic import SecretStr

from shared.settings import CommaList, ServiceSettings, SettingsError

BASE = {"AMQP_URI": "amqp://x", "DATABASE_URL": "postgresql://a", "SYSTEM_DATABASE_URL": "p://s"}


class ExampleSettings(ServiceSettings):
    service = "example"

    token_ttl: int = 600
    client_ids: CommaList = ()
    master_key: SecretStr


def test_keys_are_read_by_their_upper_case_names_and_typed():
    settings = ExampleSettings.load(
        {**BASE, "TOKEN_TTL": "30", "CLIENT_IDS": " a, b ,", "MASTER_KEY": "s3cret"}
    )

    assert settings.token_ttl == 30
    assert settings.client_ids == ("a", "b")
    assert settings.master_key.get_secret_value() == "s3cret"


def test_the_error_names_every_missing_and_invalid_key_and_no_value():
    with pytest.raises(SettingsError) as refused:
        ExampleSettings.load({"TOKEN_TTL": "not-a-number-s3cret"})

    message = str(refused.value)
    for key in ("AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL", "MASTER_KEY", "TOKEN_TTL"):
        assert key in message
    assert "s3cret" not in message and "not-a-number" not in message
    assert refused.value.missing == [
        "AMQP_URI",
        "DATABASE_URL",
        "MASTER_KEY",
        "SYSTEM_DATABASE_URL",
    ]


def test_a_secret_never_shows_in_the_settings_repr():
    settings = ExampleSettings.load({**BASE, "MASTER_KEY": "s3cret"})

    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)


def test_the_environment_is_not_a_second_source(monkeypatch):
    monkeypatch.setenv("TOKEN_TTL", "5")

    assert ExampleSettings.load({**BASE, "MASTER_KEY": "k"}).token_ttl == 600


def test_keys_lists_what_a_service_reads_and_what_it_requires():
    keys = ExampleSettings.keys()

    assert keys["MASTER_KEY"] is True and keys["TOKEN_TTL"] is False and keys["AMQP_URI"] is True


def test_a_key_in_another_case_is_not_read():
    settings = ExampleSettings.load({**BASE, "MASTER_KEY": "k", "Token_Ttl": "5"})

    assert settings.token_ttl == 600
