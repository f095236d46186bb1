"""AiSettings: every key ai reads, typed, with today's defaults; a missing key is named."""

import pytest

from services.ai.settings import AiSettings
from shared.settings import SettingsError

BASE = {"AMQP_URI": "amqp://x", "DATABASE_URL": "postgresql://a", "SYSTEM_DATABASE_URL": "p://s"}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as refused:
        AiSettings.load({})

    assert refused.value.missing == ["AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL"]
    assert str(refused.value).startswith("ai settings:")


def test_the_defaults_are_those_ai_always_had():
    settings = AiSettings.load(BASE)

    assert settings.ai_identity_timeout == 2.0
    assert settings.ai_auto_triage is True
    assert settings.ai_model_cache_mib == 512
    assert settings.azure_openai is False
    assert settings.azure_openai_api_version == "2024-10-21"
    assert settings.azure_openai_timeout == 20.0
    assert settings.azure_openai_retries == 2


def test_values_are_typed_and_blank_azure_keys_count_as_unset():
    settings = AiSettings.load(
        {
            **BASE,
            "AI_IDENTITY_TIMEOUT": "0.5",
            "AI_AUTO_TRIAGE": "false",
            "AI_MODEL_CACHE_MIB": "64",
            "AZURE_OPENAI_ENDPOINT": "https://example.invalid",
            "AZURE_OPENAI_API_KEY": "s3cret",
            "AZURE_OPENAI_DEPLOYMENT": "gpt",
            "AZURE_OPENAI_TIMEOUT": "",
            "AZURE_OPENAI_RETRIES": 0,
        }
    )

    assert settings.ai_identity_timeout == 0.5 and settings.ai_auto_triage is False
    assert settings.ai_model_cache_mib == 64 and settings.azure_openai is True
    assert settings.azure_openai_timeout == 20.0 and settings.azure_openai_retries == 0
    assert settings.azure_openai_api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_an_invalid_value_is_named_and_not_shown():
    with pytest.raises(SettingsError) as refused:
        AiSettings.load({**BASE, "AI_MODEL_CACHE_MIB": "lots-s3cret"})

    assert "AI_MODEL_CACHE_MIB" in str(refused.value) and "s3cret" not in str(refused.value)
