"""The service's clock for SLA decisions: UTC now plus a configured offset (tests move time with it)."""
from datetime import UTC, datetime, timedelta

from nameko.extensions import DependencyProvider

OFFSET_KEY = "SLA_CLOCK_OFFSET_SECONDS"


class OffsetClock:
    def __init__(self, offset_seconds=0.0):
        self.offset = timedelta(seconds=float(offset_seconds))

    def now(self):
        return datetime.now(UTC) + self.offset


def clock_from_config(config):
    return OffsetClock(config.get(OFFSET_KEY, 0))


class Clock(DependencyProvider):
    """Injects an OffsetClock; `SLA_CLOCK_OFFSET_SECONDS` is 0 outside tests and benchmarks."""

    def setup(self):
        self.clock = clock_from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.clock
