"""A ticket read and a comment at 1 and at 5,000 events on the ticket: history must not cost."""
import sys
import time
import uuid

import requests

from bench.common import percentiles, row, start_service, stop_service

EVENTS = 5_000
SAMPLES = 200
WRITERS = 8


def _timed(call, samples=SAMPLES):
    latencies = []
    for i in range(samples):
        began = time.perf_counter()
        response = call(i)
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code >= 300:
            raise RuntimeError(f"bench ticket history: {response.status_code} {response.text[:200]}")
    return percentiles(latencies)["p50"]


def run(env):
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
        ticketing_cfg = env.service_config("ticketing", env.make_database("ticketing"), amqp_uri,
                                           **issuer.config)
        for target, cfg in (("services.privacy.service:PrivacyService", privacy_cfg),
                            ("services.ticketing.service:TicketingService", ticketing_cfg)):
            processes.append(start_service(target, cfg))
        base = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
        tenant = str(uuid.uuid4())
        agent = issuer.headers(tenant_id=tenant, roles=("agent",), ttl=3600)
        session = requests.Session()

        def open_ticket(title="Monitoring: disk on db-7"):
            response = session.post(base, json={"type": "incident", "title": title,
                                                "description": "Raised by the monitoring probe."},
                                    headers=agent, timeout=30)
            return response.json()["id"]

        # The long ticket: 5,000 events of field changes (a PATCH, If-Match, each), which leave
        # the ticket's representation the same size, so what grows is the history alone.
        long_id, etag = open_ticket(), '"1"'
        started = time.perf_counter()
        for n in range(EVENTS - 1):
            response = session.patch(f"{base}/{long_id}", json={"urgency": ("high", "low")[n % 2]},
                                     headers={**agent, "If-Match": etag}, timeout=30)
            etag = response.headers["ETag"]
        print(f"bench ticket history: {EVENTS} events in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        # A ticket 5,000 comments long, written by 8 writers at once (none may be refused).
        chatty_id = open_ticket()

        def write(writer):
            with requests.Session() as own:
                return sum(own.post(f"{base}/{chatty_id}/comments", json={"body": f"probe {writer}.{n}"},
                                    headers=agent, timeout=60).status_code != 201
                           for n in range(EVENTS // WRITERS))
        started = time.perf_counter()
        with ThreadPoolExecutor(WRITERS) as pool:
            refused = sum(pool.map(write, range(WRITERS)))
        chatty_seconds = time.perf_counter() - started
        fresh = [open_ticket() for _ in range(SAMPLES)]
        for ticket_id in (long_id, chatty_id, fresh[0]):  # warm: caches, snapshots, plans
            for _ in range(20):
                session.get(f"{base}/{ticket_id}", headers=agent, timeout=30)

        def comment(ticket_id):
            return lambda i: session.post(f"{base}/{ticket_id(i)}/comments", json={"body": f"note {i}"},
                                          headers=agent, timeout=30)

        def get(ticket_id):
            return lambda i: session.get(f"{base}/{ticket_id(i)}", headers=agent, timeout=30)
        figures = {
            "get.1": _timed(get(lambda i: fresh[i])),
            "get.5000": _timed(get(lambda i: long_id)),
            "comment.1": _timed(comment(lambda i: fresh[i])),
            "comment.5000": _timed(comment(lambda i: long_id)),
            "comment.5000_comments": _timed(comment(lambda i: chatty_id)),
        }
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    return [row("ticketing.get.p50_ms.1_event", figures["get.1"], "ms"),
            row("ticketing.get.p50_ms.5000_events", figures["get.5000"], "ms", figures["get.1"]),
            row("ticketing.comment.p50_ms.1_event", figures["comment.1"], "ms"),
            row("ticketing.comment.p50_ms.5000_events", figures["comment.5000"], "ms", figures["comment.1"]),
            row("ticketing.comment.p50_ms.5000_comments", figures["comment.5000_comments"], "ms",
                figures["comment.1"]),
            row("ticketing.comments_8_writers.refused", refused, "requests"),
            row("ticketing.comments_8_writers.rate", EVENTS // WRITERS * WRITERS / chatty_seconds, "req/s")]
