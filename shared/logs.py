"""structlog JSON logs; service, entrypoint, tenant and correlation id bound per worker;
exceptions described without the data a database error echoes."""

import logging
import sys
import traceback
import uuid

import psycopg
import structlog
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider

from shared.errors import HttpError

# the parts of a PostgreSQL error that name the schema, never the data
_SCHEMA_FIELDS = ("constraint_name", "table_name", "column_name", "datatype_name")
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def describe_error(exc):
    """`Type: message`, except that a PostgreSQL error's message, DETAIL, CONTEXT and query
    (which echo the values sent: `Key (email)=(...)`, `invalid input syntax: "..."`) give way
    to its SQLSTATE and the names of the constraint, table and column involved."""
    if isinstance(exc, psycopg.Error):
        diag = getattr(exc, "diag", None)
        named = [
            f"{field.split('_')[0]}={getattr(diag, field)}"
            for field in _SCHEMA_FIELDS
            if diag is not None and getattr(diag, field, None)
        ]
        return " ".join([f"{type(exc).__name__}: SQLSTATE {exc.sqlstate or '?'}", *named])
    if isinstance(exc, RemoteError) and _is_database_error(exc.exc_type):
        return f"RemoteError: {exc.exc_type}"  # a participant's database error, told by name
    if isinstance(exc, ValidationError):
        fields = sorted(exc.messages) if isinstance(exc.messages, dict) else []
        return f"ValidationError: {', '.join(map(str, fields)) or 'the value'}"
    if isinstance(exc, HttpError) and exc.status < 500:
        # a refusal's text may quote what the client sent (an id, a name in a path): the
        # client reads it in the problem document, the log tells only which refusal it was
        return f"{type(exc).__name__}: {exc.status} {exc.title}"
    if _is_domain_error(exc):
        return type(exc).__name__  # a business rule's text names the values it refused
    return f"{type(exc).__name__}: {exc}"


def _is_domain_error(exc):
    return ".domain" in type(exc).__module__ and type(exc).__module__.startswith("services.")


def _is_database_error(name):
    found = getattr(psycopg.errors, str(name), None) or getattr(psycopg, str(name), None)
    return isinstance(found, type) and issubclass(found, psycopg.Error)


def format_error(exc):
    """A traceback as Python prints it, each exception of the chain told by describe_error."""
    chain, seen, links = [exc], {id(exc)}, []
    while True:
        if exc.__cause__ is not None:
            link, exc = _CAUSE, exc.__cause__
        elif exc.__context__ is not None and not exc.__suppress_context__:
            link, exc = _CONTEXT, exc.__context__
        else:
            break
        if id(exc) in seen:
            break
        seen.add(id(exc))
        chain.append(exc)
        links.append(link)
    told = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(each.__traceback__))
        + describe_error(each)
        for each in reversed(chain)
    ]
    text = told[0]
    for link, part in zip(reversed(links), told[1:]):
        text += f"\n\n{link}\n\n{part}"
    return text


def safe_exc_info(logger, method_name, event_dict):
    """structlog's format_exc_info, rendering the exception through format_error."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple):
        exc_info = exc_info[1]
    if isinstance(exc_info, BaseException):
        # a refusal is told, not traced: its causes hold what the client sent (a bad token,
        # a value that did not parse), and no fault of the service is to be found there
        refused = isinstance(exc_info, HttpError) and exc_info.status < 500
        refused = refused or isinstance(exc_info, ValidationError)
        event_dict["exception"] = describe_error(exc_info) if refused else format_error(exc_info)
    return event_dict


class SafeRecordArgs(logging.Filter):
    """Libraries log exceptions as message arguments (nameko: `error handling worker %s: %s`);
    those are told by describe_error before the message is formatted."""

    def filter(self, record):
        if isinstance(record.msg, BaseException):
            record.msg = describe_error(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                describe_error(arg) if isinstance(arg, BaseException) else arg
                for arg in record.args
            )
        return True


def configure(service, level="INFO", stream=None):
    """JSON lines on stderr for the service and for the libraries it uses; ``level`` in any case."""
    level = level_number(level)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, safe_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(SafeRecordArgs())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer(),
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, safe_exc_info],
        )
    )
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
            correlation_id=correlation_id,
        )

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.unbind_contextvars("entrypoint", "correlation_id", "tenant_id")
