"""Audit ingest (publish to appended) and verification rates, each against a raw baseline.

audit.ingest: events/s from the first publish until the last event is in its chain, the audit
service running as `dzdesk-service audit` does; baseline: publishing the same messages to a
queue nobody consumes (what the broker and client take without audit at all); both publish
as a relay does, in confirmed batches.
audit.verify: entries/s of verification as GET /v1/audit/verify does it (pipelined seq-range
pages of the stored canonical bytes; seq, link, hash, tenant and checkpoint checks), over every
tenant's chain; baseline: the raw SHA-256 loop over the same data read from the same database
(one plain query per tenant for the canonical bytes, then the bare chain loop).
audit.verify.vs_memory_loop: the same verification against the bare loop over bytes already in
memory (the database read alone costs about 2 us an entry here, the hash under 1 us).
audit.verify.hashing: verification over rows already fetched against that in-memory loop: what
the checks cost beyond hashing. Each figure is the median of five alternating rounds.
audit.verify.peak_memory: bytes allocated at the peak while verifying 3,000 entries built one by
one as they are read; baseline: the bytes of those entries held all at once (what a verifier
that loaded the log would need).
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid

import psycopg
import requests
from kombu import Connection, Exchange, Queue

from bench.common import rate, row
from services.audit import store
from services.audit.chain import GENESIS_HASH, ChainBuilder
from services.audit.verification import verify_chain, verify_pages
from shared.relay import ConfirmingPublisher

EVENTS = 30000
TENANTS = 5


def envelopes():
    tenants = [str(uuid.uuid4()) for _ in range(TENANTS)]
    bodies = []
    for n in range(EVENTS):
        tenant = tenants[n % TENANTS]
        bodies.append(
            json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "ticketing.ticket_commented",
                    "schema_version": 1,
                    "tenant_id": tenant,
                    "stream_id": f"ticket-{n % 997}",
                    "stream_version": n // 997 + 1,
                    "occurred_at": "2025-03-01T09:30:00.250000+00:00",
                    "actor": {"user_id": str(uuid.uuid4()), "roles": ["agent"]},
                    "correlation_id": str(uuid.uuid4()),
                    "causation_id": str(uuid.uuid4()),
                    "data": {
                        "ticket_id": str(uuid.uuid4()),
                        "comment_id": str(uuid.uuid4()),
                        "visibility": "public",
                    },
                    "pii": {"body": {"subject_id": str(uuid.uuid4()), "ciphertext": "QUJD" * 40}},
                }
            ).encode()
        )
    return tenants, bodies


def publish(amqp_uri, bodies, batch=1000):
    """Publish as the services' relays do: batches written at once, each confirmed by the
    broker (without confirms a closing connection may lose the tail to a quorum queue), as
    ticketing's broker user (the events are ticketing's: audit checks who sent them)."""
    publisher = ConfirmingPublisher(amqp_uri, "ticketing.events")
    try:
        for start in range(0, len(bodies), batch):
            publisher.publish(
                [("ticket_commented", body) for body in bodies[start : start + batch]]
            )
    finally:
        publisher.close()


def raw_publish_rate(env, bodies):
    amqp_uri = env.make_vhost()
    exchange = Exchange("ticketing.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        Queue(
            "sink",
            exchange=exchange,
            routing_key="#",
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )(connection.default_channel).declare()
    started = time.perf_counter()
    publish(env.as_user(amqp_uri, "ticketing"), bodies)
    return rate(len(bodies), time.perf_counter() - started)


def start_audit(env, urls, amqp_uri):
    config = env.service_config("audit", urls, amqp_uri)
    host, port = config["WEB_SERVER_ADDRESS"].split(":")
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.launch", "audit"],
        env={
            **os.environ,
            "AMQP_URI": config["AMQP_URI"],
            "AUDIT_DATABASE_URL": urls["app"],
            "AUDIT_SYSTEM_DATABASE_URL": urls["system"],
            "HOST": host,
            "PORT": port,
            "AUDIT_SECRET_KEY": env.master_key,
            "LOG_LEVEL": "WARNING",
        },
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://{host}:{port}/health/ready", timeout=1).ok:
                return process
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the audit service did not become ready")


def appended(admin_url):
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0]


def ingest_rate(env, urls, bodies):
    amqp_uri = env.make_vhost()
    process = start_audit(env, urls, amqp_uri)
    try:
        started = time.perf_counter()
        publish(env.as_user(amqp_uri, "ticketing"), bodies)
        while appended(urls["admin"]) < len(bodies):
            time.sleep(0.02)
        return rate(len(bodies), time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)


def bare_chain(canonical):
    """The raw baseline: a SHA-256 chain over the canonical bytes, nothing checked."""
    prev = bytes(32)
    for item in canonical:
        hasher = hashlib.sha256(prev)
        hasher.update(item)
        prev = hasher.digest()
    return prev


def verify_rates(urls, tenants, rounds=5):
    """Median of `rounds` alternating runs of each way, over every tenant's chain."""
    pooled = psycopg.connect(urls["app"])  # one connection for every request, as from a pool

    def through_db():
        entries = 0
        for tenant in tenants:
            with pooled.transaction():
                store.use_tenant(pooled, tenant)
                result = verify_pages(store.stored_pages(pooled, tenant), [], {}, tenant_id=tenant)
            assert result.ok
            entries += result.entries
        return entries

    fetched = {}
    for tenant in tenants:
        with psycopg.connect(urls["app"]) as conn:
            store.use_tenant(conn, tenant)
            fetched[tenant] = list(store.stored_pages(conn, tenant))

    def in_memory():
        return sum(
            verify_pages(fetched[tenant], [], {}, tenant_id=tenant).entries for tenant in tenants
        )

    chains = [[row[3] for page in fetched[tenant] for row in page] for tenant in tenants]

    def raw_loop():
        for canonical in chains:
            bare_chain(canonical)
        return sum(map(len, chains))

    def raw_read_loop():
        count = 0
        for tenant in tenants:
            with pooled.transaction():
                store.use_tenant(pooled, tenant)
                rows = (
                    store.bytes_cursor(pooled)
                    .execute(
                        "SELECT envelope FROM audit_entry WHERE tenant_id = %s ORDER BY seq",
                        (tenant,),
                    )
                    .fetchall()
                )
            bare_chain([item for (item,) in rows])
            count += len(rows)
        return count

    samples = {through_db: [], in_memory: [], raw_loop: [], raw_read_loop: []}
    with pooled:
        for _ in range(rounds):
            for way, rates in samples.items():
                started = time.perf_counter()
                count = way()
                rates.append(rate(count, time.perf_counter() - started))
    return [
        statistics.median(samples[way]) for way in (through_db, in_memory, raw_loop, raw_read_loop)
    ]


def verify_peak_memory(count=3000):
    """(peak bytes verifying a lazily read log, bytes of the same log held in a list)."""
    tenant_id = str(uuid.uuid4())

    def lazily():
        builder = ChainBuilder(0, GENESIS_HASH)
        for number in range(count):
            yield builder.append({"tenant_id": tenant_id, "n": number, "text": "x" * 500})

    peaks = []
    for way in (lambda: verify_chain(lazily(), [], {}), lambda: list(lazily())):
        tracemalloc.start()
        try:
            kept = way()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        del kept
    return peaks


def run(env):
    peak, whole_log = verify_peak_memory()
    tenants, bodies = envelopes()
    raw_publish = raw_publish_rate(env, bodies)
    urls = env.make_database("audit")
    ingest = ingest_rate(env, urls, bodies)
    through_db, in_memory, raw_hash, raw_read_hash = verify_rates(urls, tenants)
    return [
        row("audit.ingest", ingest, "events/s", raw_publish),
        row("audit.verify", through_db, "entries/s", raw_read_hash),
        row("audit.verify.vs_memory_loop", through_db, "entries/s", raw_hash),
        row("audit.verify.hashing", in_memory, "entries/s", raw_hash),
        row("audit.verify.peak_memory", peak, "bytes", whole_log),
    ]
