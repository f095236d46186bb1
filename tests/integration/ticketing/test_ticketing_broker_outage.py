"""Ticketing while its RabbitMQ node is down: creates for subjects with cached keys commit to
the outbox, a create that needs a new key answers 503 at once, reads and readiness stay up."""

import re
import time

import psycopg
import pytest
import requests

from tests.support import amqp
from tests.support.waiting import wait_until


def ticket_events(urls):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM events WHERE event_type = 'ticketing.ticket_opened'"
        ).fetchone()[0]


def readiness(cfg):
    return requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/health/ready", timeout=10)


def broker_up_metric(cfg):
    text = requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/metrics", timeout=10).text
    match = re.search(
        r'dzdesk_dependency_up\{dependency="broker",service="ticketing"\} ([0-9.]+)', text
    )
    return float(match.group(1)) if match else None


@pytest.mark.slow
def test_a_broker_outage_keeps_writes_for_known_subjects_and_answers_503_for_new_ones(
    own_broker, ticketing_factory
):
    node = own_broker
    # a long RPC timeout: a 503 that comes quickly comes from the refused connection
    api, cfg, urls, _ = ticketing_factory(amqp_uri=node.url(), RPC_TIMEOUT=20)
    watched = amqp.bind_queue(node.url(), "ticketing", "ticket_opened")
    known, newcomer = api.user("requester"), api.user("requester")
    api.open(known)  # its key is cached from now on
    assert readiness(cfg).json()["status"] == "ok"

    node.stop()
    assert node.port_closed(), "the broker node is still listening: no fault happened"
    opened = [api.open(known, title=f"Printer {n} jammed") for n in range(5)]
    started = time.monotonic()
    refused = api.call(
        "POST",
        "/v1/tickets",
        newcomer,
        {"type": "incident", "title": "No key yet", "description": "x"},
    )
    refused_after = time.monotonic() - started
    listed = api.call("GET", "/v1/tickets", known)
    ready = readiness(cfg)
    assert node.port_closed(), "the node came back during the outage"

    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused_after < 10, "the 503 waited for the RPC timeout instead of failing fast"
    assert listed.status_code == 200 and len(listed.json()["items"]) == 6
    assert ready.status_code == 200, "a broker loss must not take the service out of rotation"
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["broker"].startswith("failing")
    assert broker_up_metric(cfg) == 0.0
    assert ticket_events(urls) == 6  # the five creates committed, their events in the outbox

    node.start()
    node.wait_started()
    published = []

    def six_events_published():
        published.extend(amqp.drain(node.url(), watched))
        return len({body["event_id"] for body, _ in published}) >= 6

    wait_until(six_events_published, timeout=60, what="the outbox's events published")
    assert {f"ticket-{t['id']}" for t in opened} <= {body["stream_id"] for body, _ in published}
    # at least once: an event whose confirm the dying broker never sent is published again
    # (the consumers' inbox makes the copy harmless); none is missing
    assert len({body["event_id"] for body, _ in published}) == 6
    wait_until(lambda: readiness(cfg).json()["status"] == "ok", what="readiness back to ok")
    assert broker_up_metric(cfg) == 1.0
    api.open(newcomer)  # with the broker back, a new subject gets its key
