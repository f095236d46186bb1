"""TicketingSettings: today's defaults, every missing key named, the test clock injected."""

from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.dependencies import OffsetClock, clock_of
from services.ticketing.settings import INJECTED_CLOCK_KEY, TicketingSettings
from shared.settings import SettingsError

REQUIRED = {
    "AMQP_URI": "amqp://x",
    "DATABASE_URL": "postgresql://a",
    "SYSTEM_DATABASE_URL": "p://s",
}


def test_an_empty_config_names_every_missing_key():
    with pytest.raises(SettingsError) as refused:
        TicketingSettings.load({})

    assert refused.value.missing == ["AMQP_URI", "DATABASE_URL", "SYSTEM_DATABASE_URL"]
    assert str(refused.value).startswith("ticketing settings: missing ")


def test_the_defaults_are_the_timer_and_clock_of_before():
    settings = TicketingSettings.load(REQUIRED)

    assert settings.sla_timer_interval == 5
    assert settings.sla_timer_batch == 100
    assert settings.sla_clock_offset_seconds == 0
    assert settings.sla_clock is None
    assert settings.system_database_url == "p://s"


def test_keys_are_read_and_typed():
    settings = TicketingSettings.load(
        {
            **REQUIRED,
            "SLA_TIMER_INTERVAL": "0.2",
            "SLA_TIMER_BATCH": "7",
            "SLA_CLOCK_OFFSET_SECONDS": "3600",
        }
    )

    assert (settings.sla_timer_interval, settings.sla_timer_batch) == (0.2, 7)
    clock = clock_of(settings)
    assert isinstance(clock, OffsetClock) and clock.offset == timedelta(hours=1)


def test_an_invalid_value_is_named_without_its_value():
    with pytest.raises(SettingsError) as refused:
        TicketingSettings.load({**REQUIRED, "SLA_TIMER_BATCH": "lots"})

    assert [key for key, _ in refused.value.invalid] == ["SLA_TIMER_BATCH"]
    assert "lots" not in str(refused.value)


class StillClock:
    def now(self):
        return datetime(2025, 3, 12, 9, 0, tzinfo=UTC)


def test_a_clock_put_in_the_config_by_a_test_is_the_service_clock():
    clock = StillClock()

    assert clock_of(TicketingSettings.load({**REQUIRED, INJECTED_CLOCK_KEY: clock})) is clock


def test_an_environment_style_key_never_injects_a_clock():
    settings = TicketingSettings.load({**REQUIRED, INJECTED_CLOCK_KEY.upper(): "not a clock"})

    assert settings.sla_clock is None
