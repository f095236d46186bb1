"""What every DZDesk service is made of: its database, outbox relay, logs, health, metrics and
expiry of idempotency records."""

from shared.db import Database
from shared.health import HealthMixin
from shared.idempotency import IdempotencyExpiry
from shared.logs import WorkerLogContext
from shared.relay import OutboxRelay


class DZDeskService(HealthMixin):
    """Subclass with `name = "<service>"` and the service's own dependencies and entrypoints."""

    db = Database()
    log_context = WorkerLogContext()
    relay = OutboxRelay()
    idempotency_expiry = IdempotencyExpiry()
