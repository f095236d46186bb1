"""Ticket creation through the HTTP API at a fixed rate, next to a bare nameko HTTP endpoint."""

import sys
import uuid

import requests

from bench.common import fixed_rate, percentiles, row, start_service, stop_service

RATE = 50  # requests per second, open loop
SECONDS = 10
USERS = 20  # requesters cycled through; their subject keys are created in the warm-up


def run(env):
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
        ticketing_cfg = env.service_config(
            "ticketing", env.make_database("ticketing"), amqp_uri, **issuer.config
        )
        bare_cfg = env.service_config("probe", env.make_database("probe"), amqp_uri)
        for target, cfg in (
            ("services.privacy.service:PrivacyService", privacy_cfg),
            ("services.ticketing.service:TicketingService", ticketing_cfg),
            ("bench.common:BareService", bare_cfg),
        ):
            processes.append(start_service(target, cfg))
        ticketing_url = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
        bare_url = f"http://{bare_cfg['WEB_SERVER_ADDRESS']}/bare"
        tenant = str(uuid.uuid4())
        headers = [
            issuer.headers(tenant_id=tenant, roles=("requester",), ttl=600) for _ in range(USERS)
        ]

        def create(session, i):
            body = {
                "type": "incident",
                "title": f"Bench ticket {i}",
                "description": "The VPN client disconnects every hour on the hour.",
            }
            return (
                session.post(
                    ticketing_url, json=body, headers=headers[i % USERS], timeout=30
                ).status_code
                == 201
            )

        def constant(session, i):
            return session.get(bare_url, timeout=30).status_code == 200

        with requests.Session() as session:
            for i in range(USERS * 2):
                create(session, i)
                constant(session, i)
        bare_rate, bare_latencies, _ = fixed_rate(constant, RATE, SECONDS)
        create_rate, create_latencies, failed = fixed_rate(create, RATE, SECONDS)
        if failed:
            print(f"bench ticketing: {failed} requests failed", file=sys.stderr)
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    ours, bare = percentiles(create_latencies), percentiles(bare_latencies)
    return [
        row("ticketing.create.http", create_rate, "req/s", bare_rate),
        row("ticketing.create.p50_ms", ours["p50"], "ms", bare["p50"]),
        row("ticketing.create.p99_ms", ours["p99"], "ms", bare["p99"]),
    ]
