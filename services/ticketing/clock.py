"""The service's clock for SLA decisions: UTC now plus a configured offset, or a clock that
in-process tests inject and move by hand."""

from datetime import UTC, datetime, timedelta

from nameko.extensions import DependencyProvider

OFFSET_KEY = "SLA_CLOCK_OFFSET_SECONDS"
# lower case, so no environment variable lands here: an object with now(), put in the config
# by a test that runs the container in its own process; the desk and the timer share it
INJECTED_KEY = "sla_clock"


class OffsetClock:
    def __init__(self, offset_seconds=0.0):
        self.offset = timedelta(seconds=float(offset_seconds))

    def now(self):
        return datetime.now(UTC) + self.offset


def clock_from_config(config):
    injected = config.get(INJECTED_KEY)
    if injected is not None:
        return injected
    return OffsetClock(config.get(OFFSET_KEY, 0))


class Clock(DependencyProvider):
    """Injects the service's clock; `SLA_CLOCK_OFFSET_SECONDS` is 0 outside tests and benchmarks."""

    def setup(self):
        self.clock = clock_from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.clock
