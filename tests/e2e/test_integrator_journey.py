"""An integrator's journey through the gateway: a service account, its token, a signed webhook
that outlasts a failing receiver, catching up from the event feed, and an erasure that leaves no
personal data in any delivery record."""

import base64
import json
import uuid
from urllib.parse import quote_plus

from standardwebhooks import Webhook

from tests.support.waiting import wait_until, wait_until_completed


def _basic(client_id, secret):
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _verified(secret, received):
    """The payload of a delivery, checked with the Standard Webhooks library as any consumer
    would (raises when the signature, id or timestamp does not hold)."""
    headers = {name: received.headers[name] for name in ("webhook-id", "webhook-timestamp")}
    headers["webhook-signature"] = received.headers["webhook-signature"]
    return Webhook(secret).verify(received.body, headers)


def test_a_service_account_opens_a_ticket_and_a_webhook_gets_it_signed_despite_failures(suite):
    receiver = suite.receiver
    admin = suite.sign_in_google(f"ada.{uuid.uuid4().hex[:8]}@example.test", name="Ada Admin")
    zoe_name, zoe_email = "Zoe Quaglia", f"zoe.{uuid.uuid4().hex[:8]}@example.test"
    zoe = suite.sign_in_google(zoe_email, name=zoe_name)
    title = f"Laptop of {zoe_name} will not boot {uuid.uuid4().hex[:6]}"

    # an admin creates the account; it gets an ordinary access token by client credentials
    created = suite.request(
        "POST",
        "/v1/tenant/service-accounts",
        admin["access_token"],
        json={"name": "monitoring", "roles": ["agent"]},
    )
    assert created.status_code == 201, created.text
    account = created.json()
    granted = suite.request(
        "POST",
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers=_basic(account["client_id"], account["client_secret"]),
    )
    assert granted.status_code == 200, granted.text
    machine = granted.json()["access_token"]

    # a webhook on ticket events, whose receiver fails at first
    subscribed = suite.request(
        "POST",
        "/v1/webhooks",
        admin["access_token"],
        json={"url": receiver.url("/hooks/desk", "fail"), "events": ["ticketing.*"]},
    )
    assert subscribed.status_code == 201, subscribed.text
    webhook, secret = subscribed.json()["id"], subscribed.json()["secret"]

    def open_ticket():
        answer = suite.request(
            "POST",
            "/v1/tickets",
            machine,
            json={
                "type": "incident",
                "title": title,
                "description": f"Call {zoe_name} at {zoe_email}",
                "requester_id": zoe["user"]["id"],
            },
        )
        # 422 until ticketing's projection of the members has Zoe (it follows identity's events)
        return answer if answer.status_code != 422 else None

    opened = wait_until(open_ticket, 30, "ticketing to know Zoe as a member")
    assert opened.status_code == 201, opened.text
    ticket = opened.json()["id"]

    failed = wait_until(
        lambda: len(receiver.at("/hooks/desk")) >= 2 and receiver.at("/hooks/desk"),
        60,
        "two failed attempts",
    )
    receiver.modes["/hooks/desk"] = "ok"  # the receiver comes back
    deliveries = wait_until(
        lambda: (
            [
                d
                for d in suite.request(
                    "GET", f"/v1/webhooks/{webhook}/deliveries", admin["access_token"]
                ).json()["items"]
                if d["status"] == "delivered"
            ]
            or None
        ),
        60,
        "a delivery to succeed",
    )
    attempts = receiver.at("/hooks/desk")
    opened_attempts = [
        a for a in attempts if _verified(secret, a)["type"] == "ticketing.ticket_opened"
    ]
    assert len(opened_attempts) >= 3  # two failures and the success, at least
    assert len({a.headers["webhook-id"] for a in opened_attempts}) == 1  # one id for every try
    payload = _verified(secret, opened_attempts[-1])
    assert payload["data"]["ticket_id"] == ticket
    assert payload["actor"] == {"service_account": account["id"]}
    assert failed[0].headers["webhook-id"] == opened_attempts[-1].headers["webhook-id"]
    assert any(d["attempts"] >= 3 for d in deliveries)

    # a consumer that was down catches up from the feed: the same event, the same payload
    feed = wait_until(
        lambda: (
            [
                item
                for item in suite.request(
                    "GET", "/v1/events?types=ticketing.ticket_opened", admin["access_token"]
                ).json()["items"]
                if item["data"].get("ticket_id") == ticket
            ]
            or None
        ),
        60,
        "the feed to show the ticket",
    )
    assert feed[0]["id"] == payload["id"] and feed[0]["data"] == payload["data"]

    # no delivery ever carried the title, the description or a name: nothing to erase there
    for attempt in attempts:
        body = attempt.body.decode()
        assert title not in body and zoe_name not in body and zoe_email not in body
    erasure = suite.request("DELETE", "/v1/me", zoe["access_token"])
    assert erasure.status_code == 202, erasure.text
    wait_until_completed(suite, erasure.json()["id"], admin["access_token"], timeout=120)
    stored = suite.dump("integrations")
    for personal in (title, zoe_name, zoe_email, zoe_email.split("@")[0]):
        assert personal not in stored
    assert json.dumps(ticket)[1:-1] in stored  # the ids are there: the search looked at the data
