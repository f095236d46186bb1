"""A ticket read and a comment at 1 and at 5,000 events on the ticket: history must not cost."""

import random
import sys
import time
import uuid

import psycopg
import requests

from bench.common import percentiles, row, start_service, stop_service

EVENTS = 5_000
SAMPLES = 200
WRITERS, COMMENTS_EACH = 8, 200


def _interleaved(series, samples=SAMPLES):
    """{name: p50 ms}: one call of every series per round, in a shuffled order, so that a
    machine getting busier or quieter weighs on every series alike."""
    latencies = {name: [] for name in series}
    for i in range(samples):
        for name in random.sample(sorted(series), len(series)):
            began = time.perf_counter()
            response = series[name](i)
            latencies[name].append((time.perf_counter() - began) * 1000)
            if response.status_code >= 300:
                raise RuntimeError(
                    f"bench ticket history: {response.status_code} {response.text[:200]}"
                )
    return {name: percentiles(values)["p50"] for name, values in latencies.items()}


def _long_history(urls, tenant, ticket_id, agent_id):
    """Append EVENTS - 1 priority changes to the ticket through the event store, as the
    service would have (they carry no personal field, so nothing needs sealing)."""
    from services.ticketing.domain import priority_for
    from shared import eventstore
    from shared.envelope import Envelope

    stream = f"ticket-{ticket_id}"
    with psycopg.connect(urls["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        version, previous = eventstore.current_version(conn, tenant, stream), "medium"
        for start in range(0, EVENTS - 1, 500):
            batch = []
            for n in range(start, min(start + 500, EVENTS - 1)):
                urgency = ("high", "low")[n % 2]
                priority = priority_for(urgency, "medium", False)
                batch.append(
                    Envelope.new(
                        "ticketing.priority_changed",
                        tenant,
                        stream,
                        {
                            "urgency": urgency,
                            "impact": "medium",
                            "critical": False,
                            "priority": priority,
                            "previous_priority": previous,
                        },
                        actor={"user_id": agent_id, "roles": ["agent"]},
                    )
                )
                previous = priority
            version = eventstore.append(conn, stream, version, batch)
        conn.commit()


def run(env):
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    amqp_uri = env.make_vhost()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
        ticketing_db = env.make_database("ticketing")
        ticketing_cfg = env.service_config("ticketing", ticketing_db, amqp_uri, **issuer.config)
        for target, cfg in (
            ("services.privacy.service:PrivacyService", privacy_cfg),
            ("services.ticketing.service:TicketingService", ticketing_cfg),
        ):
            processes.append(start_service(target, cfg))
        base = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"
        tenant, agent_id = str(uuid.uuid4()), str(uuid.uuid4())
        agent = issuer.headers(tenant_id=tenant, roles=("agent",), user_id=agent_id, ttl=3600)
        session = requests.Session()

        def open_ticket(title="Monitoring: disk on db-7"):
            response = session.post(
                base,
                json={
                    "type": "incident",
                    "title": title,
                    "description": "Raised by the monitoring probe.",
                },
                headers=agent,
                timeout=30,
            )
            return response.json()["id"]

        # The long ticket: 5,000 events of field changes, which leave the ticket's
        # representation the same size, so what grows is the history alone.
        # two of them: the comments measured on one must not lengthen the other's detail
        long_id, read_id = open_ticket(), open_ticket()
        for ticket_id in (long_id, read_id):
            _long_history(ticketing_db, tenant, ticket_id, agent_id)
        # A ticket with many comments, written by 8 writers at once (none may be refused).
        chatty_id = open_ticket()

        def write(writer):
            with requests.Session() as own:
                return sum(
                    own.post(
                        f"{base}/{chatty_id}/comments",
                        json={"body": f"probe {writer}.{n}"},
                        headers=agent,
                        timeout=60,
                    ).status_code
                    != 201
                    for n in range(COMMENTS_EACH)
                )

        started = time.perf_counter()
        with ThreadPoolExecutor(WRITERS) as pool:
            refused = sum(pool.map(write, range(WRITERS)))
        chatty_seconds = time.perf_counter() - started
        print(
            f"bench ticket history: {WRITERS * COMMENTS_EACH} comments by {WRITERS} writers in"
            f" {chatty_seconds:.0f} s",
            file=sys.stderr,
        )
        fresh = [open_ticket() for _ in range(SAMPLES * 2)]
        for ticket_id in (long_id, read_id, chatty_id, fresh[0]):  # warm: caches, snapshots, plans
            for _ in range(10):
                session.get(f"{base}/{ticket_id}", headers=agent, timeout=30)
        for ticket_id in (long_id, read_id):  # the first command folds the history once
            session.patch(
                f"{base}/{ticket_id}",
                json={"category": "monitoring"},
                headers={**agent, "If-Match": f'"{EVENTS}"'},
                timeout=60,
            ).raise_for_status()

        def comment(ticket_id):
            return lambda i: session.post(
                f"{base}/{ticket_id(i)}/comments",
                json={"body": f"note {i}"},
                headers=agent,
                timeout=30,
            )

        def get(ticket_id):
            return lambda i: session.get(f"{base}/{ticket_id(i)}", headers=agent, timeout=30)

        # fresh tickets: a read of one still at its first event, a comment on another
        figures = _interleaved(
            {
                "get.1": get(lambda i: fresh[2 * i]),
                "get.5000": get(lambda i: read_id),
                "comment.1": comment(lambda i: fresh[2 * i + 1]),
                "comment.5000": comment(lambda i: long_id),
                "comment.many_comments": comment(lambda i: chatty_id),
            }
        )
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    return [
        row("ticketing.get.p50_ms.1_event", figures["get.1"], "ms"),
        row("ticketing.get.p50_ms.5000_events", figures["get.5000"], "ms", figures["get.1"]),
        row("ticketing.comment.p50_ms.1_event", figures["comment.1"], "ms"),
        row(
            "ticketing.comment.p50_ms.5000_events",
            figures["comment.5000"],
            "ms",
            figures["comment.1"],
        ),
        row(
            f"ticketing.comment.p50_ms.{WRITERS * COMMENTS_EACH}_comments",
            figures["comment.many_comments"],
            "ms",
            figures["comment.1"],
        ),
        row("ticketing.comments_8_writers.refused", refused, "requests"),
        row("ticketing.comments_8_writers.rate", WRITERS * COMMENTS_EACH / chatty_seconds, "req/s"),
    ]
