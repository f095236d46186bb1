"""The event feed: the tenant's payloads in order, paged by signed cursors, long-polled or
streamed as NDJSON. Each read is a short transaction of its own, so a long poll holds no
connection while it waits; and it waits in the response's body, after the worker has ended,
so waiting consumers never hold the service's workers (its event handlers need them)."""

import json
import time

import eventlet

from services.integrations import store
from shared.db import tenant_transaction

STREAM_PAGE = 500


def valid_position(position):
    """A feed cursor: [txid as decimal text, seq]."""
    return (
        isinstance(position, list)
        and len(position) == 2
        and isinstance(position[0], str)
        and position[0].isdigit()
        and len(position[0]) <= 20
        and type(position[1]) is int
        and 0 <= position[1] < 2**63
    )


def position_of(row):
    return [row["txid"], row["seq"]]


def read(pool, tenant_id, after, types, limit, wait=0.0, every=0.25):
    """Up to `limit` rows after `after`; with `wait`, polls until one comes or time is up."""
    deadline = time.monotonic() + wait
    while True:
        with tenant_transaction(pool, tenant_id) as conn:
            rows = store.feed_page(conn, after, types, limit)
        if rows or time.monotonic() >= deadline:
            return rows
        eventlet.sleep(min(every, max(deadline - time.monotonic(), 0)))


def page(rows, limit, after, cursor_of):
    """The JSON page of up to `limit` + 1 rows: its cursor is always set (where to go on)."""
    more, rows = len(rows) > limit, rows[:limit]
    last = position_of(rows[-1]) if rows else after or ["0", 0]
    return {
        "items": [row["payload"] for row in rows],
        "next_cursor": cursor_of(last),
        "has_more": more,
    }


def waited_page(pool, tenant_id, after, types, limit, wait, every, cursor_of):
    """The page as a response body that first waits (up to `wait`) for an event to come."""
    rows = read(pool, tenant_id, after, types, limit + 1, wait, every)
    yield json.dumps(page(rows, limit, after, cursor_of), separators=(",", ":")).encode()


def stream(pool, tenant_id, after, types, wait, every, cursor_of):
    """NDJSON lines `{"cursor", "event"}` of every event after `after`; with `wait`, goes on
    with those that come until the wait is over."""
    deadline = time.monotonic() + wait
    while True:
        rows = read(pool, tenant_id, after, types, STREAM_PAGE)
        for row in rows:
            after = position_of(row)
            line = {"cursor": cursor_of(after), "event": row["payload"]}
            yield json.dumps(line, separators=(",", ":")).encode() + b"\n"
        if len(rows) == STREAM_PAGE:
            continue
        if time.monotonic() >= deadline:
            return
        eventlet.sleep(min(every, max(deadline - time.monotonic(), 0)))
