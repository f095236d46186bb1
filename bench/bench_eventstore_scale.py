"""eventstore.append.1w.1m_stored: one writer's appends (one new stream, one event, one
transaction each, as bench_platform's eventstore.append.1w) into an event store that already
holds 1,000,000 events of 20 tenants, against the same appends into an empty store measured
in the same rounds (alternating, median of five). The stored events are written straight by
SQL (envelopes of the size the services write), then vacuumed and analyzed, as a store that
grew over time would be.
"""

import sys
import time

import psycopg
from psycopg import sql

from bench.bench_platform import alternating, concurrently, store_writer
from bench.common import rate, row

STORED = 1_000_000
TENANTS = 20
APPENDS = 1000

_FILL = """
INSERT INTO events (tenant_id, stream_id, stream_version, event_id, event_type, envelope)
SELECT tenant, stream, version, event_id, 'probe.note_added',
       jsonb_build_object(
           'event_id', event_id, 'event_type', 'probe.note_added', 'schema_version', 1,
           'tenant_id', tenant, 'stream_id', stream, 'stream_version', version,
           'occurred_at', now(), 'correlation_id', gen_random_uuid(),
           'causation_id', NULL,
           'actor', jsonb_build_object('user_id', gen_random_uuid(), 'roles', '["agent"]'::jsonb),
           'data', jsonb_build_object('n', n, 'text_length', 42), 'pii', '{}'::jsonb)
FROM (
    SELECT n, tenants[1 + n %% %(tenants)s] AS tenant, 's-' || (n / 10) AS stream,
           1 + n %% 10 AS version, gen_random_uuid() AS event_id
    FROM generate_series(%(start)s, %(stop)s - 1) AS n,
         (SELECT array_agg(gen_random_uuid()) AS tenants
          FROM generate_series(1, %(tenants)s)) AS t
) AS rows
"""


def fill(admin_url, count=STORED):
    """Store `count` events; the secondary indexes are built after the rows (minutes faster
    than row by row), with the definitions the migration gave them."""
    started = time.perf_counter()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
            " AND indexname <> 'events_pkey'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute(_FILL, {"tenants": TENANTS, "start": 0, "stop": count})
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE events")
    return time.perf_counter() - started


def run(env):
    empty, full = env.make_database("probe"), env.make_database("probe")
    print(f"bench: storing {STORED} events", file=sys.stderr, flush=True)
    seconds = fill(full["admin"])
    print(f"bench: stored in {seconds:.0f} s; measuring", file=sys.stderr, flush=True)
    tenant = "6f1c1d3e-2a4b-4c5d-8e6f-7a8b9c0d1e2f"
    empty_rate, full_rate = alternating(
        lambda: rate(APPENDS, concurrently(1, store_writer, empty["app"], tenant, APPENDS)),
        lambda: rate(APPENDS, concurrently(1, store_writer, full["app"], tenant, APPENDS)),
    )
    return [row("eventstore.append.1w.1m_stored", full_rate, "events/s", empty_rate)]
