"""Retry on conflict: a unit of work that lost a race is rolled back and run again on
fresh state."""

import functools
import random

import eventlet
import psycopg
import structlog

from shared import metrics

log = structlog.get_logger()

# Enough for a burst of writers on one stream: each round one of them wins, the others
# back off a random time that doubles (full jitter) so they do not meet again in step.
ATTEMPTS = 12
BASE_DELAY = 0.004
MAX_DELAY = 0.25


class Contended(Exception):
    """Marker: the unit of work lost a race (an append met a newer version, a concurrent claim
    won); the same command decided again on the state that won may well succeed."""


# the database's own word for the same thing
_RACES = (Contended, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


def backoff(attempt, base=BASE_DELAY, cap=MAX_DELAY):
    """Seconds to wait before attempt `attempt` + 1: full jitter over an exponential ceiling."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _rollback(service):
    """Roll back every unit of work the worker holds; each opens a fresh transaction when next
    used, and from now on queues for the streams it loads: a writer that lost once waits its
    turn rather than losing every round to writers who arrive fresh."""
    from shared.db import UnitOfWork  # shared.db imports shared.eventstore, which imports us

    for value in vars(service).values():
        if isinstance(value, UnitOfWork):
            value.finish(commit=False)
            value.serialize_streams = True


def on_conflict(method, attempts=ATTEMPTS):
    """Run `method` again, on fresh state, when it loses a race; at most `attempts` times.

    Nothing the method did survives a lost race: its transactions are rolled back before the
    next try, so every try decides on what the database now holds. A client that sent
    If-Match gets its 412 from that fresh decision (its version no longer holds); one that
    did not gets its command decided again, and 409 only when the new state forbids it.
    """
    if getattr(method, "retries_on_conflict", False):
        return method

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        for attempt in range(attempts):
            try:
                return method(self, *args, **kwargs)
            except _RACES as exc:
                if attempt + 1 == attempts:
                    log.warning(
                        "gave up after conflicts",
                        entrypoint=method.__name__,
                        attempts=attempts,
                        error=type(exc).__name__,
                    )
                    raise
                _rollback(self)
                metrics.CONFLICT_RETRIES.labels(self.name, method.__name__).inc()
                eventlet.sleep(backoff(attempt))

    run.retries_on_conflict = True
    return run


def retrying(decorator):
    """An entrypoint decorator (nameko's `Entrypoint.decorator`) whose method retries
    on conflict."""

    @functools.wraps(decorator)
    def decorate(*args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], str):
            return decorator(on_conflict(args[0]))
        register = decorator(*args, **kwargs)
        return lambda method: register(on_conflict(method))

    return decorate
