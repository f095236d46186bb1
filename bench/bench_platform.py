"""Event store appends, batches and relay throughput, each against a raw baseline run here;
and how slow queries of concurrent HTTP requests overlap (http.slow_queries.3_concurrent:
seconds for three requests each holding a 1 s query, against one such request alone)."""

import json
import multiprocessing
import statistics
import time
import uuid

import psycopg
from kombu import Connection, Exchange, Queue
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from bench.common import rate, row, start_service, stop_service
from shared import eventstore
from shared.db import UnitOfWork
from shared.envelope import Envelope
from shared.relay import Relay

APPENDS = 2000  # one event per transaction: by the one writer, or split among four
BATCHES = 60  # 100-event batches
RELAY_EVENTS = 20000


def envelope(tenant, stream, n=0):
    return Envelope.new(
        "probe.note_added",
        tenant,
        stream,
        {"n": n, "text_length": 42},
        actor={"user_id": str(uuid.uuid4()), "roles": ["agent"]},
    )


# Each writer connects first, then returns the loop to time, so that the measurement holds
# appends only, not process start-up and connecting.


def store_writer(url, tenant, count, batch=1):
    """Appends the way a service worker does: a unit of work from the pool, tenant set, commit."""
    pool = ConnectionPool(url, min_size=1, max_size=1, kwargs={"autocommit": False})
    pool.wait()

    def loop():
        for _ in range(count):
            stream = f"s-{uuid.uuid4()}"
            unit = UnitOfWork(pool, "probe")
            unit.begin(tenant)
            unit.append(stream, 0, [envelope(tenant, stream, n) for n in range(batch)])
            unit.finish(commit=True)

    return loop


_RAW = (
    "INSERT INTO raw_events (tenant_id, stream_id, stream_version, event_id, event_type,"
    " envelope) VALUES (%s, %s, %s, %s, %s, %s)"
)


def raw_writer(url, tenant, count, batch=1):
    """The same rows into an identical table by the same role: INSERT, COMMIT."""
    conn = psycopg.connect(url)

    def loop():
        for _ in range(count):
            stream = f"s-{uuid.uuid4()}"
            rows = [envelope(tenant, stream, n).with_version(n + 1) for n in range(batch)]
            with conn.cursor() as cur:
                cur.executemany(
                    _RAW,
                    [
                        (
                            tenant,
                            stream,
                            e.stream_version,
                            e.event_id,
                            e.event_type,
                            Jsonb(e.to_dict()),
                        )
                        for e in rows
                    ],
                )
            conn.commit()

    return loop


def eventsourcing_writer(dsn, count):
    """The same appends through the eventsourcing library's PostgreSQL application recorder."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    info = psycopg.conninfo.conninfo_to_dict(dsn)
    datastore = PostgresDatastore(
        info["dbname"],
        info.get("host", "localhost"),
        info.get("port", 5432),
        info.get("user", "postgres"),
        info.get("password", ""),
        pool_size=1,
    )
    recorder = PostgresApplicationRecorder(datastore)

    def loop():
        for _ in range(count):
            body = envelope(str(uuid.uuid4()), "s").to_dict()
            recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=uuid.uuid4(),
                        originator_version=1,
                        topic="probe.note_added",
                        state=json.dumps(body).encode(),
                    )
                ]
            )

    return loop


def alternating(*ways, rounds=5):
    """The median rate of each way over rounds that take them in turn, so that a disk or
    scheduler hiccup hits every way alike."""
    samples = [[way() for way in ways] for _ in range(rounds)]
    return [statistics.median(sample[index] for sample in samples) for index in range(len(ways))]


def concurrently(writers, target, *args):
    """Seconds from all `writers` processes (as service workers would be) being connected to
    all of them having finished their loops."""
    barrier, spans = multiprocessing.Barrier(writers), multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_timed, args=(barrier, spans, target, args))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    results = [spans.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a benchmark writer failed ({process.exitcode})")
    return max(end for _, end in results) - min(start for start, _ in results)


def _timed(barrier, spans, target, args):
    loop = target(*args)
    barrier.wait()
    started = time.perf_counter()
    loop()
    spans.put((started, time.perf_counter()))


def prepare_raw_table(admin_url):
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_events"
            " (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        conn.execute("GRANT SELECT, INSERT ON raw_events TO probe_app")


def eventsourcing_database(env):
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    db = env.make_database("probe")
    info = psycopg.conninfo.conninfo_to_dict(db["admin"])
    datastore = PostgresDatastore(
        info["dbname"],
        info.get("host", "localhost"),
        info.get("port", 5432),
        info.get("user", "postgres"),
        info.get("password", ""),
    )
    PostgresApplicationRecorder(datastore).create_table()
    datastore.close()
    return db["admin"]


def run(env):
    rows = []
    db = env.make_database("probe")
    prepare_raw_table(db["admin"])
    tenant = str(uuid.uuid4())

    raw, ours = alternating(
        lambda: rate(APPENDS, concurrently(1, raw_writer, db["app"], tenant, APPENDS)),
        lambda: rate(APPENDS, concurrently(1, store_writer, db["app"], tenant, APPENDS)),
    )
    rows.append(row("eventstore.append.1w", ours, "events/s", raw))

    # four writers, and the eventsourcing library's recorder with four writers in the same
    # rounds: the peer is compared with the rates measured beside it
    peer_dsn = eventsourcing_database(env)
    per = APPENDS // 4
    raw, ours, peer = alternating(
        lambda: rate(APPENDS, concurrently(4, raw_writer, db["app"], tenant, per)),
        lambda: rate(APPENDS, concurrently(4, store_writer, db["app"], tenant, per)),
        lambda: rate(APPENDS, concurrently(4, eventsourcing_writer, peer_dsn, per)),
    )
    rows.append(row("eventstore.append.4w", ours, "events/s", raw))
    rows.append(row("peer.eventsourcing.append.4w", peer, "events/s", raw))
    rows.append(row("eventstore.append.4w_vs_eventsourcing", ours, "events/s", peer))

    raw, ours = alternating(
        lambda: rate(BATCHES * 100, concurrently(1, raw_writer, db["app"], tenant, BATCHES, 100)),
        lambda: rate(BATCHES * 100, concurrently(1, store_writer, db["app"], tenant, BATCHES, 100)),
    )
    rows.append(row("eventstore.append_batch100", ours, "events/s", raw))

    rows.append(relay_row(env))
    rows.append(overlap_row(env))
    return rows


def overlap_row(env):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    db = env.make_database("probe")
    cfg = env.service_config("probe", db, env.make_vhost())
    process = start_service("tests.support.probe:ProbeService", cfg)
    url = f"http://{cfg['WEB_SERVER_ADDRESS']}/v1/probe/sleep/1.0"

    def together(count):
        started = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(lambda _: requests.get(url, timeout=30), range(count)))
        assert all(answer.status_code == 200 for answer in answers)
        return time.perf_counter() - started

    try:
        alone, three = alternating(lambda: together(1), lambda: together(3), rounds=3)
    finally:
        stop_service(process)
    return row("http.slow_queries.3_concurrent", three, "s", alone)


def relay_row(env):
    db = env.make_database("probe")
    amqp_uri = env.make_vhost()
    tenant = str(uuid.uuid4())
    with psycopg.connect(db["app"]) as conn:
        for start in range(0, RELAY_EVENTS, 1000):
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
            stream = f"r-{start}"
            eventstore.append(conn, stream, 0, [envelope(tenant, stream, n) for n in range(1000)])
            conn.commit()
    exchange = Exchange("probe.events", type="topic", durable=True)
    sink = Queue("bench-sink", exchange=exchange, routing_key="#", durable=True)
    with Connection(amqp_uri) as connection:
        sink(connection.default_channel).declare()
    relay = Relay("probe", db["system"], env.as_user(amqp_uri, "probe"))  # signed as probe
    relay.acquire()
    started = time.perf_counter()
    published = 0
    while published < RELAY_EVENTS:
        published += relay.run_once()
    ours = rate(published, time.perf_counter() - started)
    relay.close()
    with psycopg.connect(db["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        bodies = [
            body.encode()
            for (body,) in conn.execute(
                "SELECT envelope::text FROM events ORDER BY position LIMIT 5000"
            )
        ]
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        started = time.perf_counter()
        for body in bodies:
            producer.publish(
                body,
                exchange=exchange,
                routing_key="note_added",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
            )
        raw = rate(len(bodies), time.perf_counter() - started)
    return row("relay.publish", ours, "events/s", raw)
