"""The PostgreSQL event store: append with an expected version, load streams, snapshots."""

import contextlib
import json

import psycopg
from psycopg.types.json import Jsonb

from shared.envelope import from_stored
from shared.retry import Contended


class ConcurrencyError(Contended):
    """The stream moved on since the caller read it; the entrypoint decides the command again.

    Its text is what a client sees if every retry lost, so it names no stream and no version
    (both stay on the exception for logs and tests).
    """

    status = 409
    title = "Conflict"
    detail = "the resource kept changing while this request was applied; try again"

    def __init__(self, stream_id, expected, actual=None):
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        super().__init__(self.detail)


# One round trip, primary-key probes only. A stale writer finds the next version taken (a
# racing writer whose row is not committed yet trips the primary key instead); an expected
# version ahead of the stream finds no row at `expected`. The txid check keeps
# every stream's transaction ids ascending with its versions, so the relay (which publishes
# in txid order) keeps per-stream order: a writer whose transaction predates the head's
# writer must reload and retry.
_GUARD = """
WHERE NOT EXISTS (
    SELECT 1 FROM events WHERE tenant_id = %(tenant)s AND stream_id = %(stream)s
    AND stream_version = %(expected)s + 1)
AND CASE WHEN %(expected)s = 0 THEN true ELSE coalesce((
    SELECT txid <= pg_current_xact_id() FROM events
    WHERE tenant_id = %(tenant)s AND stream_id = %(stream)s AND stream_version = %(expected)s
), false) END
"""
_APPEND_ONE = (
    """
INSERT INTO events (tenant_id, stream_id, stream_version, event_id, event_type, envelope)
SELECT %(tenant)s, %(stream)s, %(version)s, %(event_id)s, %(type)s, %(envelope)s
"""
    + _GUARD
)
_APPEND_MANY = (
    """
INSERT INTO events (tenant_id, stream_id, stream_version, event_id, event_type, envelope)
SELECT %(tenant)s, %(stream)s, (e->>'stream_version')::int, (e->>'event_id')::uuid,
       e->>'event_type', e
FROM jsonb_array_elements(%(envelopes)s::jsonb) AS e
"""
    + _GUARD
)


def _dumps(value):
    return json.dumps(value, separators=(",", ":"))


def _append_statement(stream_id, expected_version, envelopes):
    """(statement, parameters) appending the envelopes after `expected_version`."""
    tenant_id = envelopes[0].tenant_id
    stamped = [e.with_version(expected_version + i) for i, e in enumerate(envelopes, 1)]
    params = {"tenant": tenant_id, "stream": stream_id, "expected": expected_version}
    if len(stamped) == 1:
        event = stamped[0]
        params.update(
            version=event.stream_version,
            event_id=event.event_id,
            type=event.event_type,
            envelope=Jsonb(event.to_dict(), dumps=_dumps),
        )
        return _APPEND_ONE, params
    # one JSON array parameter: far cheaper to send than four typed arrays
    params["envelopes"] = Jsonb([e.to_dict() for e in stamped], dumps=_dumps)
    return _APPEND_MANY, params


def append(conn, stream_id, expected_version, envelopes):
    """Append envelopes of one stream after `expected_version`; return the new version.

    All envelopes must belong to the connection's tenant (RLS enforces it).
    """
    if not envelopes:
        return expected_version
    try:
        inserted = conn.execute(*_append_statement(stream_id, expected_version, envelopes)).rowcount
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "events_pkey":
            raise
        raise ConcurrencyError(stream_id, expected_version) from exc
    _check_appended(conn, stream_id, expected_version, envelopes, inserted)
    return expected_version + len(envelopes)


def _check_appended(conn, stream_id, expected_version, envelopes, inserted):
    if inserted != len(envelopes):
        raise ConcurrencyError(
            stream_id,
            expected_version,
            current_version(conn, envelopes[0].tenant_id, stream_id),
        )


@contextlib.contextmanager
def appending(conn, stream_id, expected_version, envelopes):
    """Append as `append` does, in one round trip with the statements the block sends after it
    (the writes that go with the events: read models); yields the new version.

    The connection is in pipeline mode inside the block: its statements are sent with the
    append when the block ends, and their results are read after it (fetching one inside
    costs a round trip of its own). A lost race raises ConcurrencyError when the block ends;
    the transaction is then aborted, as after any failed append.
    """
    if not envelopes:
        yield expected_version
        return
    try:
        with conn.pipeline():
            cursor = conn.execute(*_append_statement(stream_id, expected_version, envelopes))
            yield expected_version + len(envelopes)
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "events_pkey":
            raise
        raise ConcurrencyError(stream_id, expected_version) from exc
    _check_appended(conn, stream_id, expected_version, envelopes, cursor.rowcount)


# the first events of new streams, any number of streams in one statement: a stream that
# exists already trips the primary key (nothing of the statement is written)
_APPEND_NEW_STREAMS = """
INSERT INTO events (tenant_id, stream_id, stream_version, event_id, event_type, envelope)
SELECT %(tenant)s, e->>'stream_id', (e->>'stream_version')::int, (e->>'event_id')::uuid,
       e->>'event_type', e
FROM jsonb_array_elements(%(envelopes)s::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n
"""


@contextlib.contextmanager
def appending_streams(conn, envelopes):
    """Append the events of streams that have none yet (ids just minted: a bulk import), each
    stream's envelopes stamped with versions 1, 2, ... in order, in one statement and one
    round trip with the statements the block sends (as `appending`). A stream that has events
    already raises ConcurrencyError when the block ends; the transaction is then aborted."""
    if not envelopes:
        yield
        return
    versions, stamped = {}, []
    for envelope in envelopes:
        versions[envelope.stream_id] = versions.get(envelope.stream_id, 0) + 1
        stamped.append(envelope.with_version(versions[envelope.stream_id]).to_dict())
    params = {"tenant": envelopes[0].tenant_id, "envelopes": Jsonb(stamped, dumps=_dumps)}
    try:
        with conn.pipeline():
            cursor = conn.execute(_APPEND_NEW_STREAMS, params)
            yield
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "events_pkey":
            raise
        raise ConcurrencyError(None, 0) from exc
    if cursor.rowcount != len(stamped):
        raise ConcurrencyError(None, 0)


def append_next(conn, stream_id, envelopes):
    """Append after whatever the stream holds now: for a writer whose decision does not depend
    on the stream's state (a new fact, not a guarded transition); return the new version."""
    if not envelopes:
        raise ValueError("append_next needs at least one envelope (it names the tenant)")
    version = current_version(conn, envelopes[0].tenant_id, stream_id)
    return append(conn, stream_id, version, envelopes)


def current_version(conn, tenant_id, stream_id):
    row = conn.execute(
        "SELECT coalesce(max(stream_version), 0) FROM events"
        " WHERE tenant_id = %s AND stream_id = %s",
        (tenant_id, stream_id),
    ).fetchone()
    return row[0]


def current_versions(conn, tenant_id, stream_ids):
    """{stream_id: version} of several streams in one round trip (0 for an empty stream)."""
    found = dict(
        conn.execute(
            "SELECT stream_id, max(stream_version) FROM events"
            " WHERE tenant_id = %s AND stream_id = ANY(%s) GROUP BY stream_id",
            (tenant_id, list(stream_ids)),
        ).fetchall()
    )
    return {stream_id: found.get(stream_id, 0) for stream_id in stream_ids}


def load(conn, tenant_id, stream_id, after_version=0):
    """The stream's envelopes after `after_version`, in version order."""
    rows = conn.execute(
        "SELECT envelope FROM events WHERE tenant_id = %s AND stream_id = %s"
        " AND stream_version > %s ORDER BY stream_version",
        (tenant_id, stream_id, after_version),
    ).fetchall()
    return [from_stored(row[0]) for row in rows]


def read_all(conn, after_position=0, limit=1000, event_types=None):
    """(position, envelope) of the current tenant's events after a global position."""
    query = "SELECT position, envelope FROM events WHERE position > %s"
    params = [after_position]
    if event_types:
        query += " AND event_type = ANY(%s)"
        params.append(list(event_types))
    rows = conn.execute(query + " ORDER BY position LIMIT %s", (*params, limit)).fetchall()
    return [(position, from_stored(body)) for position, body in rows]


def save_snapshot(conn, tenant_id, stream_id, stream_version, state):
    """Keep a stream's folded state; it must hold no plaintext personal data."""
    conn.execute(
        "INSERT INTO snapshots (tenant_id, stream_id, stream_version, state)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id, stream_id) DO UPDATE"
        " SET stream_version = excluded.stream_version, state = excluded.state, taken_at = now()"
        " WHERE snapshots.stream_version < excluded.stream_version",
        (tenant_id, stream_id, stream_version, Jsonb(state, dumps=_dumps)),
    )


def load_snapshot(conn, tenant_id, stream_id):
    """(stream_version, state) of the newest snapshot, or None."""
    row = conn.execute(
        "SELECT stream_version, state FROM snapshots WHERE tenant_id = %s AND stream_id = %s",
        (tenant_id, stream_id),
    ).fetchone()
    return tuple(row) if row else None


def load_folded(
    conn, tenant_id, stream_id, fold, initial, snapshot_every=None, to_state=None, from_state=None
):
    """Fold a stream from its snapshot on; take a new snapshot every `snapshot_every` events.

    `fold(state, envelope) -> state`; `to_state`/`from_state` convert to and from JSON.
    Returns (version, state).
    """
    version, state = 0, initial
    snapshot = load_snapshot(conn, tenant_id, stream_id) if snapshot_every else None
    if snapshot:
        version, state = snapshot[0], from_state(snapshot[1]) if from_state else snapshot[1]
    events = load(conn, tenant_id, stream_id, version)
    for envelope in events:
        state = fold(state, envelope)
    if events:
        version = events[-1].stream_version
        if snapshot_every and len(events) >= snapshot_every:
            save_snapshot(
                conn, tenant_id, stream_id, version, to_state(state) if to_state else state
            )
    return version, state
