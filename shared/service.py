"""What every DZDesk service is made of: its database, outbox relay, logs, health and metrics."""
from shared.db import Database
from shared.health import HealthMixin
from shared.logs import WorkerLogContext
from shared.relay import OutboxRelay


class DZDeskService(HealthMixin):
    """Subclass with `name = "<service>"` and the service's own dependencies and entrypoints."""

    db = Database()
    log_context = WorkerLogContext()
    relay = OutboxRelay()
