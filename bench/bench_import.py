"""The bulk import of historic tickets (POST /v1/tickets/import) with the whole suite running.

ticketing.import: tickets/s one ticketing process imports, IMPORTS tickets (10,000;
BENCH_IMPORTS) sent REQUEST_LINES a request on one connection, each ticket with two comments
and a historic status (most closed); baseline: the same events, as ticketing stored them,
inserted raw (multi-row, the events of BATCH tickets a statement, no constraint, no index)
into a table of the same database: what the store itself can take.
ticketing.import.catchup_s: seconds from the last import's answer until audit holds every
event and ai every ticket; no baseline (the target: within 10 s).
privacy, ticketing, audit and ai run as processes of their own on one vhost; the machine may
be shared (report `uptime` with the figures).
"""

import json
import os
import random
import sys
import time
import uuid

import psycopg
import requests

from bench.bench_ticketing import count
from bench.common import rate, row, start_service, stop_service

IMPORTS = int(os.environ.get("BENCH_IMPORTS", 10_000))
REQUEST_LINES = 5_000
BATCH = 200  # services.ticketing.imports.BATCH_LINES
REQUESTERS, AGENTS = 50, 10
CATCH_UP_SECONDS = 120
STATUSES = ("closed",) * 6 + ("resolved",) * 2 + ("in_progress", "new")


def lines(count, requesters, agents, rng):
    """NDJSON lines of `count` historic tickets, each with a requester's and an agent's
    comment."""
    now = int(time.time())
    out = []
    for index in range(count):
        status = rng.choice(STATUSES)
        # closed and resolved tickets of the last three years, the open ones of the last month
        # (as a help desk leaves them; an SLA clock running for years is walked day by day)
        age = rng.randrange(
            5 * 86_400, (3 * 365 if status in ("closed", "resolved") else 30) * 86_400
        )
        opened = now - age
        requester, agent = rng.choice(requesters), rng.choice(agents)
        line = {
            "external_id": f"OLD-{index}",
            "type": "incident",
            "title": f"Printer {index % 97} jams on duplex jobs",
            "description": "The printer on the third floor jams on every duplex job. " * 3,
            "priority": rng.choice(("low", "medium", "high")),
            "category": rng.choice(("hardware", "software", "network")),
            "requester_id": requester,
            "opened_at": _iso(opened),
            "status": status,
            "comments": [
                {"author_id": agent, "body": "Looking into it.", "created_at": _iso(opened + 600)},
                {
                    "author_id": requester,
                    "body": "Thanks, it happened again this morning.",
                    "created_at": _iso(opened + 3_600),
                },
            ],
        }
        if status in ("resolved", "closed"):
            line["resolved_at"] = _iso(opened + 86_400)
        if status == "closed":
            line["closed_at"] = _iso(opened + 3 * 86_400)
        if status == "in_progress":
            line["status_changed_at"] = _iso(opened + 600)
        out.append(json.dumps(line))
    return out


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def raw_rate(admin_url, tickets):
    """Tickets/s of inserting the stored events again, raw, BATCH tickets' events a statement."""
    with psycopg.connect(admin_url) as conn:
        conn.execute(
            "CREATE TABLE raw_events (tenant_id uuid, stream_id text, stream_version int,"
            " event_id uuid, event_type text, envelope jsonb)"
        )
        stored = conn.execute(
            "SELECT stream_id, envelope::text FROM events ORDER BY position"
        ).fetchall()
        conn.commit()
    by_stream = {}
    for stream, body in stored:
        by_stream.setdefault(stream, []).append(body)
    streams = list(by_stream.values())
    with psycopg.connect(admin_url) as conn:
        started = time.perf_counter()
        for start in range(0, len(streams), BATCH):
            bodies = [body for stream in streams[start : start + BATCH] for body in stream]
            conn.execute(
                "INSERT INTO raw_events SELECT (e->>'tenant_id')::uuid, e->>'stream_id',"
                " (e->>'stream_version')::int, (e->>'event_id')::uuid, e->>'event_type', e"
                " FROM jsonb_array_elements(%s::jsonb) AS e",
                ("[" + ",".join(bodies) + "]",),
            )
            conn.commit()
        seconds = time.perf_counter() - started
    return rate(min(tickets, len(streams)), seconds)


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    dbs = {name: env.make_database(name) for name in ("privacy", "audit", "ai", "ticketing")}
    configs = {
        name: env.service_config(name, urls, amqp_uri, **issuer.config)
        for name, urls in dbs.items()
    }
    targets = {
        "privacy": "services.privacy.service:PrivacyService",
        "audit": "services.audit.service:AuditService",
        "ai": "services.ai.service:AiService",
        "ticketing": "services.ticketing.service:TicketingService",
    }
    rng = random.Random(15)
    tenant, admin = str(uuid.uuid4()), str(uuid.uuid4())
    requesters = [str(uuid.uuid4()) for _ in range(REQUESTERS)]
    agents = [str(uuid.uuid4()) for _ in range(AGENTS)]
    with psycopg.connect(dbs["ticketing"]["admin"]) as conn:  # as identity's events leave them
        conn.cursor().executemany(
            "INSERT INTO members (tenant_id, user_id, roles, version) VALUES (%s, %s, %s, 1)",
            [(tenant, admin, ["admin"])]
            + [(tenant, r, ["requester"]) for r in requesters]
            + [(tenant, a, ["agent"]) for a in agents],
        )
    warm = lines(BATCH, requesters, agents, rng)
    body = lines(IMPORTS, requesters, agents, rng)
    processes = []
    try:
        for name, target in targets.items():
            processes.append(start_service(target, configs[name]))
        url = f"http://{configs['ticketing']['WEB_SERVER_ADDRESS']}/v1/tickets/import"
        token = issuer.token(tenant_id=tenant, roles=("admin",), ttl=3600, user_id=admin)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        session = requests.Session()

        def send(chunk, prefix):
            data = "\n".join(line.replace('"OLD-', f'"{prefix}-', 1) for line in chunk) + "\n"
            response = session.post(url, data=data.encode(), headers=headers, timeout=600)
            response.raise_for_status()
            statuses = [json.loads(r)["status"] for r in response.text.splitlines()]
            if statuses.count("created") != len(chunk):
                raise RuntimeError(f"bench import: not every line created: {statuses[:3]}")

        send(warm, "WARM")  # subject keys, pools, imports
        started = time.perf_counter()
        for start in range(0, len(body), REQUEST_LINES):
            send(body[start : start + REQUEST_LINES], "OLD")
        seconds = time.perf_counter() - started
        ended = time.monotonic()
        events = count(dbs["ticketing"]["admin"], "SELECT count(*) FROM events")
        tickets = IMPORTS + len(warm)
        catchup = None
        while time.monotonic() < ended + CATCH_UP_SECONDS:
            audited = count(dbs["audit"]["admin"], "SELECT count(*) FROM audit_entry")
            learned = count(dbs["ai"]["admin"], "SELECT count(*) FROM ai_tickets")
            if audited >= events and learned >= tickets:
                catchup = time.monotonic() - ended
                break
            time.sleep(0.1)
        if catchup is None:
            print("bench import: audit and ai did not catch up", file=sys.stderr)
            catchup = float(CATCH_UP_SECONDS)
        print(
            f"bench import: {IMPORTS} tickets, {events} events in {seconds:.1f} s",
            file=sys.stderr,
        )
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    baseline = raw_rate(dbs["ticketing"]["admin"], IMPORTS)
    return [
        row("ticketing.import", rate(IMPORTS, seconds), "tickets/s", baseline),
        row("ticketing.import.catchup_s", catchup, "s"),
    ]
