"""structlog JSON logs; service, entrypoint, tenant and correlation id bound per worker."""
import logging
import sys
import uuid

import structlog
from nameko.extensions import DependencyProvider


def configure(service, level="INFO", stream=None):
    """JSON lines on stderr for the service and for the libraries it uses; ``level`` in any case."""
    level = level_number(level)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name,
                           structlog.processors.format_exc_info]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)


def level_number(name):
    """`info`, `Info` or `INFO`: the stdlib's level; anything else says which."""
    number = logging.getLevelName(str(name).strip().upper())
    if not isinstance(number, int):
        raise ValueError(f"LOG_LEVEL {name!r} is none of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return number


def current_correlation_id():
    return structlog.contextvars.get_contextvars().get("correlation_id")


class WorkerLogContext(DependencyProvider):
    """Binds the worker's log context and makes sure a correlation id travels on."""

    def worker_setup(self, worker_ctx):
        # nameko propagates worker_ctx.data as `nameko.*` headers on RPC calls and events
        correlation_id = worker_ctx.data.get("correlation_id") or str(uuid.uuid4())
        worker_ctx.data["correlation_id"] = correlation_id
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            correlation_id=correlation_id)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.unbind_contextvars("entrypoint", "correlation_id", "tenant_id")
