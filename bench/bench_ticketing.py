"""Ticket creation with the whole suite running (identity, privacy, ticketing, audit, ai).

ticketing.create.peak: creates/s of a closed loop of 16 connections straight to one ticketing
process, CREATES tickets (10,000; BENCH_CREATES) or PEAK_SECONDS of them, whichever ends first,
every consumer catching up before the next phase; baseline: the bare nameko endpoint under the
same loop.
suite.cpu_ms_per_ticket: CPU milliseconds of the five service processes, of the PostgreSQL
backends serving their databases and of RabbitMQ (the whole node) from the first create of the
peak run until audit and ai hold every event, divided by the tickets created; no baseline.
ticketing.create.p50_ms / p99_ms: latency at RATE creates/s offered (open loop), the suite
running; baseline: the bare endpoint at the same rate.
The machine may be shared: RabbitMQ's CPU counts other vhosts' traffic (the bench prints each
part's CPU per ticket, and each part's CPU per second over IDLE_SECONDS with the suite idle, to
tell the two apart), and every figure depends on the load (report `uptime` with them).
"""

import http.client
import json
import os
import sys
import threading
import time
import uuid

import psycopg

from bench.common import fixed_rate, percentiles, rate, row, start_service, stop_service

CONNECTIONS = 16
CREATES = int(os.environ.get("BENCH_CREATES", 10_000))
PEAK_SECONDS = 45  # the peak run stops earlier if CREATES take longer
BARE_SECONDS = 4
RATE, SECONDS = 200, 10
CATCH_UP_SECONDS = 120
IDLE_SECONDS = 3
BODY = json.dumps(
    {
        "type": "incident",
        "title": "The VPN drops every hour",
        "description": "The VPN client disconnects every hour on the hour.",
    }
).encode()


def closed_loop(address, path, headers, body, count, seconds, connections=CONNECTIONS):
    """(requests answered 2xx, seconds, failures): `connections` keep-alive connections, each
    sending its next request as soon as the last is answered, until `count` or `seconds`."""
    host, port = address.split(":")
    sent, done, failed, lock = [0], [0], [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        while time.perf_counter() < deadline:
            with lock:
                if sent[0] >= count:
                    break
                sent[0] += 1
            try:
                conn.request("POST" if body else "GET", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                ok = False
            with lock:
                done[0] += ok
                failed[0] += not ok
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], time.perf_counter() - started, failed[0]


def cpu_seconds(pid):
    """utime + stime of a live process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def suite_pids(services, databases):
    """{pid: what it is}: the service processes, the PostgreSQL backends of their databases,
    RabbitMQ's node."""
    pids = {process.pid: name for name, process in services.items()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "beam.smp" in cmdline:
            pids[int(entry)] = "rabbitmq"
        elif cmdline.startswith("postgres:") and any(db in cmdline for db in databases):
            pids[int(entry)] = "postgresql"
    return pids


def cpu_by_part(pids):
    parts = {}
    for pid, name in pids.items():
        parts[name] = parts.get(name, 0.0) + cpu_seconds(pid)
    return parts


def count(url, query):
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    dbs = {name: env.make_database(name) for name in ("privacy", "identity", "audit", "ai")}
    dbs["ticketing"] = env.make_database("ticketing")
    configs = {
        name: env.service_config(name, urls, amqp_uri, **issuer.config)
        for name, urls in dbs.items()
    }
    bare_cfg = env.service_config("probe", env.make_database("probe"), amqp_uri)
    targets = {
        "privacy": "services.privacy.service:PrivacyService",
        "identity": "services.identity.service:IdentityService",
        "audit": "services.audit.service:AuditService",
        "ai": "services.ai.service:AiService",
        "ticketing": "services.ticketing.service:TicketingService",
    }
    processes, services = [], {}
    try:
        for name, target in targets.items():
            services[name] = start_service(target, configs[name])
        processes = [*services.values(), start_service("bench.common:BareService", bare_cfg)]
        address = configs["ticketing"]["WEB_SERVER_ADDRESS"]
        bare_address = bare_cfg["WEB_SERVER_ADDRESS"]
        tenant = str(uuid.uuid4())
        token = issuer.token(tenant_id=tenant, roles=("requester",), ttl=3600)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # warm-up: imports, pools, the requester's subject key, queue consumers
        closed_loop(address, "/v1/tickets", headers, BODY, 200, 30)
        closed_loop(bare_address, "/bare", {}, None, 200, 30)

        def caught_up(tickets):
            events = count(dbs["ticketing"]["admin"], "SELECT count(*) FROM events")
            deadline = time.monotonic() + CATCH_UP_SECONDS
            while time.monotonic() < deadline:
                audited = count(dbs["audit"]["admin"], "SELECT count(*) FROM audit_entry")
                learned = count(dbs["ai"]["admin"], "SELECT count(*) FROM ai_tickets")
                if audited >= events and learned >= tickets:
                    return True
                time.sleep(0.1)
            print("bench ticketing: the consumers did not catch up", file=sys.stderr)
            return False

        caught_up(count(dbs["ticketing"]["admin"], "SELECT count(*) FROM tickets"))
        bare_done, bare_seconds, _ = closed_loop(
            bare_address, "/bare", {}, None, 10**9, BARE_SECONDS
        )
        pids = suite_pids(services, [urls["name"] for urls in dbs.values()])
        # what the shared broker spends with the suite idle: other users of the node
        idle_before, idle_started = cpu_by_part(pids), time.perf_counter()
        time.sleep(IDLE_SECONDS)
        idle_seconds = time.perf_counter() - idle_started
        idle = {n: s - idle_before.get(n, 0.0) for n, s in cpu_by_part(pids).items()}
        cpu_before, run_started = cpu_by_part(pids), time.perf_counter()
        before = count(dbs["ticketing"]["admin"], "SELECT count(*) FROM tickets")
        created, seconds, failed = closed_loop(
            address, "/v1/tickets", headers, BODY, CREATES, PEAK_SECONDS
        )
        caught_up(before + created)
        cpu_parts = {
            name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_by_part(pids).items()
        }
        cpu = sum(cpu_parts.values())
        run_seconds = time.perf_counter() - run_started
        print(
            "bench ticketing: CPU ms per second with the suite idle: "
            + ", ".join(
                f"{name} {seconds * 1000 / idle_seconds:.1f}"
                for name, seconds in sorted(idle.items())
            )
            + f"; the peak run and catch-up took {run_seconds:.1f} s for {created} tickets",
            file=sys.stderr,
        )
        print(
            "bench ticketing: CPU ms per ticket: "
            + ", ".join(
                f"{name} {seconds * 1000 / max(created, 1):.2f}"
                for name, seconds in sorted(cpu_parts.items())
            ),
            file=sys.stderr,
        )
        if failed:
            print(f"bench ticketing: {failed} creates failed", file=sys.stderr)

        def create(session, i):
            response = session.post(
                f"http://{address}/v1/tickets", data=BODY, headers=headers, timeout=30
            )
            return response.status_code == 201

        def constant(session, i):
            return session.get(f"http://{bare_address}/bare", timeout=30).status_code == 200

        _, bare_latencies, _ = fixed_rate(constant, RATE, SECONDS)
        _, create_latencies, failed = fixed_rate(create, RATE, SECONDS)
        if failed:
            print(f"bench ticketing: {failed} creates at {RATE}/s failed", file=sys.stderr)
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    ours, bare = percentiles(create_latencies), percentiles(bare_latencies)
    return [
        row(
            "ticketing.create.peak", rate(created, seconds), "req/s", rate(bare_done, bare_seconds)
        ),
        row("suite.cpu_ms_per_ticket", cpu * 1000 / max(created, 1), "ms"),
        row("ticketing.create.p50_ms", ours["p50"], "ms", bare["p50"]),
        row("ticketing.create.p99_ms", ours["p99"], "ms", bare["p99"]),
    ]
