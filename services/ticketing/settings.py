"""Ticketing's typed settings: the SLA timer's pace and the clock SLA decisions are made on."""

from typing import Any

from pydantic import Field

from shared.settings import ServiceSettings

# lower case, so no environment variable lands here: an object with now(), put in the config
# by a test that runs the container in its own process; the desk and the timer share it
INJECTED_CLOCK_KEY = "sla_clock"


class TicketingSettings(ServiceSettings):
    # keys are read as spelled (shared.settings), so an `SLA_CLOCK` from the environment never
    # passes for the injected clock
    service = "ticketing"

    # seconds between two polls of the SLA timer, and the most due tickets one poll spawns
    sla_timer_interval: float = 5
    sla_timer_batch: int = 100
    # 0 outside tests and benchmarks, which move the service's clock ahead
    sla_clock_offset_seconds: float = 0
    sla_clock: Any = Field(default=None, alias=INJECTED_CLOCK_KEY)
