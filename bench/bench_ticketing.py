"""Ticket creation through the HTTP API at a fixed rate, next to a bare nameko HTTP endpoint."""
import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import percentiles, row
from shared.web import http

RATE = 50           # requests per second, open loop
SECONDS = 10
USERS = 20          # requesters cycled through; their subject keys are created in the warm-up
CLIENT_THREADS = 32


class BareService:
    """The baseline: one nameko @http endpoint answering a constant."""

    name = "bare"

    @http("GET", "/bare")
    def constant(self, request):
        return {"ok": True}


def start(target, config, ready_path):
    process = subprocess.Popen([sys.executable, "-m", "tests.support.run_service", target,
                                json.dumps(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://{config['WEB_SERVER_ADDRESS']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + ready_path, timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not become ready")


def fixed_rate(send):
    """Call send() RATE times a second for SECONDS; (successes per second, latencies in ms)."""
    latencies, failures, lock = [], [0], threading.Lock()
    local = threading.local()

    def one(i):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        began = time.perf_counter()
        ok = send(session, i)
        elapsed = (time.perf_counter() - began) * 1000
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                failures[0] += 1

    total = RATE * SECONDS
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        for i in range(total):
            delay = started + i / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i)
    duration = time.perf_counter() - started
    if failures[0]:
        print(f"bench ticketing: {failures[0]} of {total} requests failed", file=sys.stderr)
    return len(latencies) / duration, latencies


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
        ticketing_cfg = env.service_config("ticketing", env.make_database("ticketing"), amqp_uri,
                                           **issuer.config)
        bare_cfg = env.service_config("probe", env.make_database("probe"), amqp_uri)
        for target, cfg, path in (
                ("services.privacy.service:PrivacyService", privacy_cfg, "/health/ready"),
                ("services.ticketing.service:TicketingService", ticketing_cfg, "/health/ready"),
                ("bench.bench_ticketing:BareService", bare_cfg, "/bare")):
            process, _ = start(target, cfg, path)
            processes.append(process)
        ticketing_url = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
        bare_url = f"http://{bare_cfg['WEB_SERVER_ADDRESS']}/bare"
        tenant = str(uuid.uuid4())
        headers = [issuer.headers(tenant_id=tenant, roles=("requester",), ttl=600)
                   for _ in range(USERS)]

        def create(session, i):
            body = {"type": "incident", "title": f"Bench ticket {i}",
                    "description": "The VPN client disconnects every hour on the hour."}
            return session.post(ticketing_url, json=body, headers=headers[i % USERS],
                                timeout=30).status_code == 201

        def constant(session, i):
            return session.get(bare_url, timeout=30).status_code == 200

        with requests.Session() as session:
            for i in range(USERS * 2):
                create(session, i)
                constant(session, i)
        bare_rate, bare_latencies = fixed_rate(constant)
        create_rate, create_latencies = fixed_rate(create)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        issuer.close()
    ours, bare = percentiles(create_latencies), percentiles(bare_latencies)
    return [row("ticketing.create.http", create_rate, "req/s", bare_rate),
            row("ticketing.create.p50_ms", ours["p50"], "ms", bare["p50"]),
            row("ticketing.create.p99_ms", ours["p99"], "ms", bare["p99"])]
