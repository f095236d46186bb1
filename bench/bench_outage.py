"""Ticket creates while the broker is stopped (subjects with cached keys), on a RabbitMQ node
of the bench's own, next to the same creates with the broker up."""

import sys
import time
import uuid

import requests

from bench.common import fixed_rate, percentiles, row, start_service, stop_service

RATE = 20  # requests per second, open loop
SECONDS = 10
USERS = 10  # requesters whose keys are cached in the warm-up


def run(env):
    from tests.support import rabbit_nodes
    from tests.support.tokens import TokenIssuer

    if not rabbit_nodes.available():
        print("bench outage: no rabbitmq-server on this machine; skipped", file=sys.stderr)
        return []
    issuer = TokenIssuer()
    processes = []
    with rabbit_nodes.started(1, prefix="dzdesk-bench") as nodes:
        node = nodes[0]
        try:
            privacy_cfg = env.service_config("privacy", env.make_database("privacy"), node.url())
            ticketing_cfg = env.service_config(
                "ticketing", env.make_database("ticketing"), node.url(), **issuer.config
            )
            for target, cfg in (
                ("services.privacy.service:PrivacyService", privacy_cfg),
                ("services.ticketing.service:TicketingService", ticketing_cfg),
            ):
                processes.append(start_service(target, cfg))
            url = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
            tenant = str(uuid.uuid4())
            headers = [
                issuer.headers(tenant_id=tenant, roles=("requester",), ttl=600)
                for _ in range(USERS)
            ]
            body = {"type": "incident", "title": "Bench ticket", "description": "VPN drops."}

            def create(session, i):
                return (
                    session.post(url, json=body, headers=headers[i % USERS], timeout=30).status_code
                    == 201
                )

            with requests.Session() as session:
                for i in range(USERS * 2):
                    create(session, i)
            _, up, up_failed = fixed_rate(create, RATE, SECONDS)
            node.stop()
            assert node.port_closed()
            _, down, down_failed = fixed_rate(create, RATE, SECONDS)
            newcomer = issuer.headers(tenant_id=tenant, roles=("requester",), ttl=600)
            started = time.perf_counter()
            refused = requests.post(url, json=body, headers=newcomer, timeout=30)
            refused_ms = (time.perf_counter() - started) * 1000
            if up_failed or down_failed or refused.status_code != 503:
                print(
                    f"bench outage: {up_failed} failed with the broker up, {down_failed} down;"
                    f" a new subject got {refused.status_code}",
                    file=sys.stderr,
                )
        finally:
            for process in processes:
                stop_service(process)
            issuer.close()
    ours, baseline = percentiles(down), percentiles(up)
    return [
        row("broker.outage.create_p99_ms", ours["p99"], "ms", baseline["p99"]),
        row("broker.outage.create_p50_ms", ours["p50"], "ms", baseline["p50"]),
        row("broker.outage.new_subject_503_ms", refused_ms, "ms"),
    ]
