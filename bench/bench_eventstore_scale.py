"""eventstore.append.1w.1m_stored: one writer's appends (one new stream, one event, one
transaction each, as bench_platform's eventstore.append.1w) into an event store that already
holds 1,000,000 events of 20 tenants, against the same appends into an empty store measured
in the same rounds (alternating, median of five). The stored events are written straight by
SQL (envelopes of the size the services write), then vacuumed and analyzed, as a store that
grew over time would be.
"""

import time

import psycopg

from bench.bench_platform import APPENDS, alternating, concurrently, store_writer
from bench.common import rate, row

STORED = 1_000_000
TENANTS = 20

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


def fill(admin_url, count=STORED, chunk=250_000):
    started = time.perf_counter()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for start in range(0, count, chunk):
            conn.execute(
                _FILL, {"tenants": TENANTS, "start": start, "stop": min(count, start + chunk)}
            )
        conn.execute("VACUUM ANALYZE events")
    return time.perf_counter() - started


def run(env):
    empty, full = env.make_database("probe"), env.make_database("probe")
    fill(full["admin"])
    tenant = "6f1c1d3e-2a4b-4c5d-8e6f-7a8b9c0d1e2f"
    empty_rate, full_rate = alternating(
        lambda: rate(APPENDS, concurrently(1, store_writer, empty["app"], tenant, APPENDS)),
        lambda: rate(APPENDS, concurrently(1, store_writer, full["app"], tenant, APPENDS)),
    )
    return [row("eventstore.append.1w.1m_stored", full_rate, "events/s", empty_rate)]
