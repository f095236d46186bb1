"""Deliveries from the events: signed, retried with the same webhook-id, isolated per
endpoint, and the endpoint disabled (with an event) once the schedule is spent."""

import base64
import json
import uuid

import psycopg
import standardwebhooks

from services.integrations.dependencies import Dispatcher
from tests.integration.integrations.conftest import DESCRIPTION, TITLE
from tests.support.amqp import bind_queue, drain


def verified(secret, received):
    """The payload of a delivery the standardwebhooks library verifies (it raises otherwise)."""
    return standardwebhooks.Webhook(secret).verify(received.body, received.headers)


def test_a_ticket_event_reaches_a_subscribed_endpoint_signed(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    webhook_id, secret = rig.subscribe(tenant, "/opened", events=["ticketing.ticket_opened"])
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

    shown = rig.call("GET", f"/v1/webhooks/{webhook_id}", tenant).json()
    assert "secret" not in shown and shown["events"] == ["ticketing.ticket_opened"]
    (stored,) = rig.sql("SELECT secret FROM webhooks WHERE webhook_id = %s", webhook_id)
    assert base64.b64decode(secret[6:]) not in bytes(stored[0])  # sealed, not in clear

    ticket_id = str(uuid.uuid4())
    rig.comment_added(tenant, ticket_id)  # not subscribed: never delivered
    opened = rig.ticket_opened(tenant, ticket_id)

    (received,) = rig.wait_until(lambda: rig.receiver.at("/opened"), what="the delivery")
    body = verified(secret, received)
    assert body["type"] == "ticketing.ticket_opened"
    assert body["id"] == opened.event_id
    assert body["tenant_id"] == tenant
    assert body["data"]["ticket_id"] == ticket_id
    assert body["data"]["priority"] == "high"
    assert body["actor"]["user_id"] == opened.actor["user_id"]
    raw = received.body.decode()
    assert TITLE not in raw and DESCRIPTION not in raw and "pii" not in raw
    assert received.headers["content-type"] == "application/json"

    rig.wait_until(lambda: rig.feed_size(tenant) == 2, what="both events in the feed")
    delivery = rig.wait_until(
        lambda: [d for d in rig.deliveries(tenant, webhook_id) if d["status"] == "delivered"],
        what="the delivery recorded",
    )
    (delivery,) = rig.deliveries(tenant, webhook_id)  # the comment made none
    assert delivery["message_id"] == received.headers["webhook-id"]
    assert delivery["event_id"] == opened.event_id
    assert (delivery["attempts"], delivery["response_code"]) == (1, 204)
    assert delivery["duration_ms"] >= 0 and delivery["next_attempt_at"] is None


def test_a_failing_receiver_gets_the_delivery_later_with_the_same_webhook_id(
    start_integrations,
):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    webhook_id, secret = rig.subscribe(tenant, "/flaky", mode="fail")
    opened = rig.ticket_opened(tenant)

    rig.wait_until(lambda: len(rig.receiver.at("/flaky")) >= 2, what="two failed attempts")
    failing = rig.deliveries(tenant, webhook_id)[0]
    assert failing["status"] == "pending" and failing["response_code"] == 500
    rig.receiver.modes["/flaky"] = "ok"
    delivered = rig.wait_until(
        lambda: [d for d in rig.deliveries(tenant, webhook_id) if d["status"] == "delivered"],
        what="the delivery to succeed",
    )[0]

    attempts = rig.receiver.at("/flaky")
    assert len(attempts) == delivered["attempts"] >= 3
    assert {a.headers["webhook-id"] for a in attempts} == {delivered["message_id"]}
    for attempt in attempts:  # each attempt signed afresh, all of the same message
        assert verified(secret, attempt)["id"] == opened.event_id
    assert delivered["response_code"] == 204
    metrics = rig.http.get(rig.base + "/metrics", timeout=10).text
    assert 'dzdesk_webhook_attempts_total{status="delivered"}' in metrics
    assert 'dzdesk_webhook_attempts_total{status="pending"}' in metrics


def test_a_dead_endpoint_does_not_delay_a_live_one_nor_another_tenant(start_integrations):
    rig = start_integrations(INTEGRATIONS_READ_TIMEOUT=20, INTEGRATIONS_REQUEST_DEADLINE=25)
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    dead_id, _ = rig.subscribe(tenant, "/dead", mode="hang")
    rig.subscribe(tenant, "/live")
    rig.subscribe(other, "/other")
    for _ in range(6):
        rig.ticket_opened(tenant)
    rig.ticket_opened(other)

    rig.wait_until(lambda: len(rig.receiver.at("/live")) == 6, what="every live delivery")
    rig.wait_until(lambda: len(rig.receiver.at("/other")) == 1, what="the other tenant's")
    # the dead endpoint holds its own few requests and has not answered one of them yet
    rig.wait_until(lambda: rig.receiver.hanging >= 1, what="the dead endpoint's requests")
    assert rig.receiver.hanging <= 2
    assert all(d["attempts"] == 0 for d in rig.deliveries(tenant, dead_id))
    assert len(rig.deliveries(tenant, dead_id)) == 6


def test_an_endpoint_is_disabled_with_an_event_once_the_schedule_is_spent(start_integrations):
    rig = start_integrations(INTEGRATIONS_RETRY_SCHEDULE="0,0.1,0.1")
    watch = bind_queue(rig.cfg["AMQP_URI"], "integrations", "webhook_disabled")
    tenant = str(uuid.uuid4())
    webhook_id, secret = rig.subscribe(tenant, "/gone", mode="fail")
    rig.ticket_opened(tenant)

    shown = rig.wait_until(
        lambda: (
            (w := rig.call("GET", f"/v1/webhooks/{webhook_id}", tenant).json())["enabled"] is False
            and w
        ),
        what="the webhook disabled",
    )
    assert shown["disabled_reason"] == "retries_exhausted"
    (failed,) = rig.deliveries(tenant, webhook_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert len(rig.receiver.at("/gone")) == 3

    ((event, _),) = drain(rig.cfg["AMQP_URI"], watch, expect=1, timeout=30)
    assert event["event_type"] == "integrations.webhook_disabled"
    assert event["tenant_id"] == tenant
    assert event["data"] == {
        "webhook_id": webhook_id,
        "delivery_id": failed["id"],
        "reason": "retries_exhausted",
        "attempts": 3,
    }
    rig.wait_until(
        lambda: rig.sql(
            "SELECT 1 FROM feed WHERE tenant_id = %s AND event_type = %s",
            tenant,
            "integrations.webhook_disabled",
        ),
        what="the admins' event in the feed",
    )

    # enabled again, the failed message is redelivered as a new delivery with the same id
    rig.receiver.modes["/gone"] = "ok"
    again = rig.call("PATCH", f"/v1/webhooks/{webhook_id}", tenant, json={"enabled": True})
    assert again.status_code == 200 and again.json()["disabled_reason"] is None
    answer = rig.call(
        "POST", f"/v1/webhooks/{webhook_id}/deliveries/{failed['id']}/redeliver", tenant
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["message_id"] == failed["message_id"]
    assert answer.json()["redelivery_of"] == failed["id"]
    rig.wait_until(lambda: len(rig.receiver.at("/gone")) == 4, what="the redelivery")
    last = rig.receiver.at("/gone")[-1]
    assert last.headers["webhook-id"] == failed["message_id"]
    assert verified(secret, last)["type"] == "ticketing.ticket_opened"


def test_a_failing_endpoint_is_tried_once_per_step_of_the_schedule_not_once_per_message(
    start_integrations,
):
    """While one of its deliveries waits for a retry, the endpoint's others wait behind it: a
    dead endpoint with a backlog costs a few attempts per step and is disabled when that
    delivery's schedule is spent, beside a live endpoint served all along; the backlog is kept
    and delivered, each message once, when the endpoint is enabled again."""
    rig = start_integrations(
        INTEGRATIONS_RETRY_SCHEDULE="0,1,1", INTEGRATIONS_MAX_IN_FLIGHT_PER_ENDPOINT=2
    )
    tenant = str(uuid.uuid4())
    down_id, _ = rig.subscribe(tenant, "/down", mode="fail")
    rig.subscribe(tenant, "/up")
    events = 20
    for _ in range(events):
        rig.ticket_opened(tenant)

    rig.wait_until(lambda: len(rig.receiver.at("/up")) == events, what="every live delivery")
    rig.wait_until(
        lambda: rig.call("GET", f"/v1/webhooks/{down_id}", tenant).json()["enabled"] is False,
        what="the dead endpoint disabled",
    )
    dispatcher = next(e for e in rig.container.extensions if isinstance(e, Dispatcher))
    rig.wait_until(  # an attempt under way when it was disabled ends and is recorded
        lambda: dispatcher.per_endpoint[down_id] == 0, what="the endpoint's attempts ended"
    )
    listed = rig.call("GET", f"/v1/webhooks/{down_id}/deliveries?limit=100", tenant).json()
    deliveries = listed["items"]
    tried = rig.receiver.at("/down")
    assert len(deliveries) == events
    # at most its two threads' deliveries, each through the three steps: not one per message
    assert len(tried) == sum(d["attempts"] for d in deliveries) <= 2 * 3
    failed = [d for d in deliveries if d["status"] == "failed"]
    assert 1 <= len(failed) <= 2 and all(d["attempts"] == 3 for d in failed)
    waiting = [d for d in deliveries if d["status"] == "pending"]
    assert len(waiting) == events - len(failed)
    assert sum(d["attempts"] == 0 for d in waiting) >= events - 2

    rig.receiver.modes["/down"] = "ok"
    again = rig.call("PATCH", f"/v1/webhooks/{down_id}", tenant, json={"enabled": True})
    assert again.status_code == 200, again.text
    rig.wait_until(
        lambda: len(rig.receiver.at("/down")) == len(tried) + len(waiting),
        what="the backlog delivered",
    )
    later = [a.headers["webhook-id"] for a in rig.receiver.at("/down")[len(tried) :]]
    assert sorted(later) == sorted(d["message_id"] for d in waiting)


def test_retries_of_endpoints_that_time_out_leave_threads_for_the_healthy_ones(
    start_integrations,
):
    """Retries hold at most half the dispatcher's threads: two failing endpoints whose retries
    now hang (each held to the read timeout) take one of two threads, and a live endpoint is
    served on the other while the retry still hangs (not after it has timed out)."""
    rig = start_integrations(
        INTEGRATIONS_MAX_IN_FLIGHT=2,
        INTEGRATIONS_MAX_IN_FLIGHT_PER_ENDPOINT=1,
        INTEGRATIONS_RETRY_SCHEDULE="0,0.5,0.5",
        INTEGRATIONS_READ_TIMEOUT=20,
        INTEGRATIONS_REQUEST_DEADLINE=25,
    )
    tenant = str(uuid.uuid4())
    slow = [rig.subscribe(tenant, f"/slow/{i}", mode="fail")[0] for i in range(2)]
    rig.ticket_opened(tenant)
    rig.wait_until(
        lambda: all([d["attempts"] for d in rig.deliveries(tenant, w)] == [1] for w in slow),
        what="a failed first attempt at each slow endpoint",
    )
    for i in range(2):  # their retries, due in half a second, hang from now on
        rig.receiver.modes[f"/slow/{i}"] = "hang"
    rig.wait_until(lambda: rig.receiver.hanging >= 1, what="a retry hanging")
    rig.subscribe(tenant, "/live")
    for _ in range(3):
        rig.ticket_opened(tenant)

    rig.wait_until(lambda: len(rig.receiver.at("/live")) == 3, what="the live deliveries")
    assert rig.receiver.hanging == 1
    retried = [rig.deliveries(tenant, w)[0] for w in slow]
    assert [d["attempts"] for d in retried] == [1, 1]  # no retry has timed out yet


def test_a_redirect_is_not_followed(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    webhook_id, _ = rig.subscribe(tenant, "/moved", mode="redirect")
    rig.ticket_opened(tenant)
    attempt = rig.wait_until(
        lambda: [d for d in rig.deliveries(tenant, webhook_id) if d["attempts"] >= 1],
        what="the first attempt recorded",
    )[0]
    assert attempt["response_code"] == 307 and attempt["status"] == "pending"
    assert rig.receiver.at("/elsewhere") == []


def test_a_test_delivery_goes_to_the_webhook_tested_alone(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    tested, secret = rig.subscribe(tenant, "/tested", events=["ticketing.ticket_opened"])
    everything, _ = rig.subscribe(tenant, "/everything", events=["*"])
    answer = rig.call("POST", f"/v1/webhooks/{tested}/test", tenant)
    assert answer.status_code == 202, answer.text

    (received,) = rig.wait_until(lambda: rig.receiver.at("/tested"), what="the test delivery")
    body = verified(secret, received)
    assert body["type"] == "integrations.webhook_pinged"
    assert body["id"] == answer.json()["event_id"]
    assert body["data"] == {"webhook_id": tested}
    # the webhook_created events of both went to `*`; the ping did not
    types = [
        row[0]
        for row in rig.sql("SELECT event_type FROM deliveries WHERE webhook_id = %s", everything)
    ]
    assert "integrations.webhook_pinged" not in types


def test_every_stored_delivery_and_feed_row_is_free_of_the_tickets_text(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    rig.subscribe(tenant, "/all", events=["*"])
    rig.ticket_opened(tenant)
    rig.wait_until(lambda: rig.receiver.at("/all"), what="the delivery")
    with psycopg.connect(rig.urls["admin"]) as conn:
        dump = json.dumps(
            [
                conn.execute(f"SELECT * FROM {table}").fetchall()
                for table in ("feed", "deliveries", "webhooks")
            ],
            default=str,
        )
    for text in (TITLE, DESCRIPTION, "zoe.quaglia", "Quaglia"):
        assert text not in dump
