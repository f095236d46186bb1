"""A mixed workload through the nginx gateway: creates, reads and lists of tickets, many clients."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import requests

from bench.common import fixed_rate, free_port, percentiles, row, start_service, stop_service

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "deploy" / "nginx"))
from render import render  # noqa: E402

RATE, SECONDS = 80, 10  # offered requests per second, open loop
CLIENTS = 16  # distinct client addresses (X-Forwarded-For from a trusted proxy)


def start_gateway(run_dir, port, upstreams):
    conf = pathlib.Path(run_dir) / "nginx.conf"
    conf.write_text(
        render(
            run_dir=run_dir,
            listen=f"127.0.0.1:{port}",
            upstreams=upstreams,
            trusted_proxies=("127.0.0.1/32",),
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [
            nginx,
            "-c",
            str(conf),
            "-p",
            run_dir,
            "-e",
            os.path.join(run_dir, "error.log"),
            "-g",
            "daemon off;",
        ]
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/v1/tickets", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway did not start")


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    processes, gateway, run_dir = [], None, tempfile.mkdtemp(prefix="dzdesk-gateway-")
    try:
        privacy = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
        ticketing = env.service_config(
            "ticketing", env.make_database("ticketing"), amqp_uri, **issuer.config
        )
        for target, cfg in (
            ("services.privacy.service:PrivacyService", privacy),
            ("services.ticketing.service:TicketingService", ticketing),
        ):
            processes.append(start_service(target, cfg))
        port = free_port()
        gateway = start_gateway(
            run_dir,
            port,
            {
                "privacy": privacy["WEB_SERVER_ADDRESS"],
                "ticketing": ticketing["WEB_SERVER_ADDRESS"],
            },
        )
        base = f"http://127.0.0.1:{port}/v1/tickets"
        tenant = str(uuid.uuid4())
        clients = [
            {
                **issuer.headers(tenant_id=tenant, roles=("agent",), ttl=600),
                "X-Forwarded-For": f"198.51.100.{n + 1}",
            }
            for n in range(CLIENTS)
        ]
        with requests.Session() as session:
            tickets = [
                session.post(
                    base,
                    json={
                        "type": "incident",
                        "title": f"Warm-up {n}",
                        "description": "Printer offline.",
                    },
                    headers=clients[n % CLIENTS],
                    timeout=30,
                ).json()["id"]
                for n in range(20)
            ]

        def mixed(session, i):
            headers = clients[i % CLIENTS]
            kind = i % 10
            if kind < 4:
                response = session.post(
                    base,
                    headers=headers,
                    timeout=30,
                    json={"type": "incident", "title": f"Load {i}", "description": "VPN drops."},
                )
                return response.status_code == 201
            if kind < 8:
                return (
                    session.get(
                        f"{base}/{tickets[i % len(tickets)]}", headers=headers, timeout=30
                    ).status_code
                    == 200
                )
            return session.get(f"{base}?limit=20", headers=headers, timeout=30).status_code == 200

        achieved, latencies, failed = fixed_rate(mixed, RATE, SECONDS)
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGQUIT)
            gateway.wait(timeout=10)
        for process in processes:
            stop_service(process)
        issuer.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    spread = percentiles(latencies)
    return [
        row("gateway.mixed.rps", achieved, "req/s", RATE),
        row("gateway.mixed.p50_ms", spread["p50"], "ms"),
        row("gateway.mixed.p99_ms", spread["p99"], "ms"),
        row("gateway.mixed.failed", failed, "requests"),
    ]
