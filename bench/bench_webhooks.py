"""The webhook load test: live endpoints beside dead ones, every event to every endpoint.

The integrations service runs in a process of its own with its production defaults (dispatch
interval, in-flight limits, timeouts) but a compressed retry schedule (RETRY_SCHEDULE), allowed
to reach the local HTTPS receiver. One tenant's ENDPOINTS webhooks subscribe to ticketing's
events; DEAD of them are dead, half refusing connections (a closed port) and half accepting and
never answering (held until the read timeout). EVENTS ticket_opened envelopes are published as
ticketing's relay would, in confirmed batches.

Checked, or the module fails: every live endpoint received every event (no loss, each counted
by its `webhook-id`; duplicates, allowed by at-least-once, are counted in a row), and every dead
endpoint was disabled once its schedule was spent. Measured: deliveries answered 2xx per second
from the first publish to the last live delivery, and each live delivery's arrival after its
event's publish (p99). The baseline is the same run without the dead endpoints: the same live
endpoints, events and service settings, so a ratio near 1 says the dead ones slowed nobody.

BENCH_WEBHOOKS_ENDPOINTS (200), BENCH_WEBHOOKS_DEAD (10) and BENCH_WEBHOOKS_EVENTS (50) choose
the size: the issue's full scale, 20,000 events, is 3.8 million live deliveries a run (twice, with
the baseline), hours on a 2-core machine; the default is 9,500 a run.
"""

import json
import os
import socket
import threading
import time
import uuid

import psycopg
import requests

from bench.common import percentiles, row, stop_service
from shared.crypto import FieldCipher, LocalKeyring
from shared.envelope import Envelope, person_actor

ENDPOINTS = int(os.environ.get("BENCH_WEBHOOKS_ENDPOINTS", 200))
DEAD = int(os.environ.get("BENCH_WEBHOOKS_DEAD", 10))
EVENTS = int(os.environ.get("BENCH_WEBHOOKS_EVENTS", 50))
RETRY_SCHEDULE = "0,1,2,4,8,16"
BATCH = 100
DISABLE_TIMEOUT = 120  # for the dead endpoints to be disabled, once the live ones are served
STALL_SECONDS = 120  # no new live delivery for this long: the run failed
QUEUE = "evt-identity+ticketing+privacy+audit+ai+integrations-all--integrations.handle_event"


def _ticket_opened(cipher, tenant_id):
    ticket_id, requester = str(uuid.uuid4()), str(uuid.uuid4())
    data = {
        "ticket_id": ticket_id,
        "requester_id": requester,
        "opened_by": requester,
        "type": "incident",
        "category": "hardware",
        "urgency": "low",
        "impact": "low",
        "priority": "low",
        "critical": False,
        "watchers": [],
        "tags": [],
    }
    pii = cipher.seal(tenant_id, {"title": (requester, "A title"), "description": (requester, "")})
    return Envelope.new(
        "ticketing.ticket_opened",
        tenant_id,
        f"ticket-{ticket_id}",
        data,
        pii=pii,
        actor=person_actor(requester, ["requester"]),
    ).with_version(1)


class Tally:
    """What the live endpoints received, compactly: per (path, webhook-id) the arrivals, and
    per arrival its delay after the event's publish."""

    def __init__(self):
        self.lock = threading.Lock()
        self.published = {}
        self.seen = {}
        self.delays = []
        self.last_at = None

    def __call__(self, item):
        event_id = json.loads(item.body)["id"]
        key = (item.path, item.headers["webhook-id"])
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            if self.seen[key] == 1:
                self.delays.append(item.at - self.published[event_id])
                self.last_at = item.at

    @property
    def unique(self):
        return len(self.seen)

    @property
    def duplicates(self):
        return sum(count - 1 for count in self.seen.values())


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _phase(env, live, dead, events):
    """One run: `live` and `dead` endpoints, `events` events; its measures."""
    from tests.support.amqp import publish
    from tests.support.tokens import TokenIssuer
    from tests.support.webhook_receiver import WebhookReceiver

    db, amqp_uri = env.make_database("integrations"), env.make_vhost()
    tally = Tally()
    issuer, receiver = TokenIssuer(), WebhookReceiver(record=tally)
    cfg = env.service_config(
        "integrations",
        db,
        amqp_uri,
        INTEGRATIONS_ALLOWED_HOSTS="127.0.0.1/32",
        INTEGRATIONS_CA_BUNDLE=receiver.ca_bundle,
        INTEGRATIONS_RETRY_SCHEDULE=RETRY_SCHEDULE,
        **issuer.config,
    )
    process = start_service_consuming(cfg)
    tenant = str(uuid.uuid4())
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    refused = f"https://127.0.0.1:{_closed_port()}"
    try:
        headers = issuer.headers(tenant_id=tenant, roles=("admin",))
        urls = [receiver.url(f"/live/{i}") for i in range(live)]
        urls += [
            receiver.url(f"/dead/{i}", "hang") if i % 2 else f"{refused}/dead/{i}"
            for i in range(dead)
        ]
        dead_ids = []
        for url in urls:
            answer = requests.post(
                f"{base}/v1/webhooks",
                headers=headers,
                json={"url": url, "events": ["ticketing.*"]},
                timeout=30,
            )
            answer.raise_for_status()
            if "/dead/" in url:
                dead_ids.append(answer.json()["id"])
        cipher = FieldCipher(LocalKeyring())
        envelopes = [_ticket_opened(cipher, tenant) for _ in range(events)]
        publisher = env.as_user(amqp_uri, "ticketing")
        started, started_at = time.monotonic(), time.time()
        for at in range(0, events, BATCH):
            chunk = envelopes[at : at + BATCH]
            now = time.monotonic()
            with tally.lock:
                tally.published.update((e.event_id, now) for e in chunk)
            publish(publisher, [e.to_dict() for e in chunk])
        expected = live * events
        progress, progressed = 0, time.monotonic()
        while tally.unique < expected:
            if tally.unique != progress:
                progress, progressed = tally.unique, time.monotonic()
            elif time.monotonic() - progressed > STALL_SECONDS:
                raise RuntimeError(
                    f"{tally.unique} of {expected} live deliveries arrived; {_states(db)}"
                )
            time.sleep(0.1)
        elapsed = tally.last_at - started
        disabled, disabled_after = _wait_disabled(db, dead_ids, started_at)
        dead_attempts = _attempts(db, dead_ids)
    finally:
        stop_service(process)
        receiver.close()
        issuer.close()
    return {
        "throughput": expected / elapsed,
        "p99": percentiles(tally.delays)["p99"],
        "duplicates": tally.duplicates,
        "disabled": disabled,
        "disabled_after": disabled_after,
        "dead_attempts": dead_attempts,
    }


def _wait_disabled(db, dead_ids, started_at, timeout=DISABLE_TIMEOUT):
    """(how many dead endpoints were disabled, seconds from the first publish, `started_at` on
    the wall clock, until the last of them was), waiting at most `timeout` seconds for them
    once the live deliveries are in."""
    if not dead_ids:
        return 0, None
    deadline = time.monotonic() + timeout
    with psycopg.connect(db["admin"], autocommit=True) as conn:
        while True:
            enabled, last = conn.execute(
                "SELECT count(*) FILTER (WHERE enabled),"
                " extract(epoch FROM max(updated_at) FILTER (WHERE NOT enabled))::float8"
                " FROM webhooks WHERE webhook_id = ANY(%s::uuid[])",
                (dead_ids,),
            ).fetchone()
            if enabled == 0 or time.monotonic() > deadline:
                return len(dead_ids) - enabled, (last - started_at) if last else None
            time.sleep(0.2)


def _states(db):
    """How the deliveries stand (for a stalled run's message): counts by webhook state,
    delivery status and last error."""
    with psycopg.connect(db["admin"]) as conn:
        rows = conn.execute(
            "SELECT w.enabled, d.status, d.last_error, count(*) FROM deliveries d"
            " JOIN webhooks w USING (tenant_id, webhook_id) GROUP BY 1, 2, 3 ORDER BY 4 DESC"
        ).fetchall()
    return "; ".join(f"enabled={e} {s} {err!r}: {n}" for e, s, err, n in rows)


def _attempts(db, dead_ids):
    """Attempts made on the dead endpoints, each of them on average."""
    if not dead_ids:
        return None
    with psycopg.connect(db["admin"]) as conn:
        (total,) = conn.execute(
            "SELECT coalesce(sum(attempts), 0) FROM deliveries WHERE webhook_id = ANY(%s::uuid[])",
            (dead_ids,),
        ).fetchone()
    return total / len(dead_ids)


def run(env):
    live = ENDPOINTS - DEAD
    baseline = _phase(env, live, 0, EVENTS)
    loaded = _phase(env, live, DEAD, EVENTS)
    schedule_s = sum(float(step) for step in RETRY_SCHEDULE.split(","))
    rows = [
        row("webhooks.throughput", loaded["throughput"], "deliveries/s", baseline["throughput"]),
        row("webhooks.delivery_p99_s", loaded["p99"], "s", baseline["p99"]),
        row("webhooks.duplicates", loaded["duplicates"] + baseline["duplicates"], "deliveries"),
    ]
    if DEAD:
        rows += [
            row("webhooks.dead_disabled", loaded["disabled"], "endpoints", DEAD),
            row("webhooks.dead_attempts", loaded["dead_attempts"], "attempts/endpoint"),
        ]
    if loaded["disabled_after"] is not None:  # none disabled: no instant
        rows.append(row("webhooks.dead_disabled_s", loaded["disabled_after"], "s", schedule_s))
    return rows


def start_service_consuming(cfg):
    from tests.support.run_service import start_process

    return start_process(
        "services.integrations.service:IntegrationsService", cfg, consumed_queue=QUEUE, timeout=60
    )
