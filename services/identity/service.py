"""The identity service: nameko entrypoints only; the work lives in its domain modules."""
from shared.db import Database
from shared.health import HealthMixin
from shared.logs import WorkerLogContext
from shared.relay import OutboxRelay


class IdentityService(HealthMixin):
    name = "identity"

    db = Database()
    log_context = WorkerLogContext()
    relay = OutboxRelay()
