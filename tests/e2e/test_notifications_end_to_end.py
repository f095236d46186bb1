"""Notifications with the real services: identity's members, ticketing's tickets and privacy's
policy versions become mail (read from a real SMTP server) and in-platform notices."""

import uuid

from shared.envelope import PLATFORM_TENANT, Envelope, system_actor
from tests.support.amqp import publish
from tests.support.mailbox import parts
from tests.support.waiting import wait_until, wait_until_completed


def notices(suite, token):
    response = suite.request("GET", "/v1/me/notifications", token)
    assert response.status_code == 200, response.text
    return response.json()


def handled(suite, event_type):
    """Whether notifications handled every `event_type` event ticketing has written."""
    written = {
        row[0]
        for row in suite.rows(
            "ticketing", "SELECT event_id FROM events WHERE event_type = %s", (event_type,)
        )
    }
    seen = {row[0] for row in suite.rows("notifications", "SELECT event_id FROM inbox")}
    return written and written <= seen


def _members(suite, count):
    wait_until(
        lambda: suite.rows("notifications", "SELECT count(*) FROM notify_members")[0][0] >= count,
        what=f"notifications to know {count} members",
    )


def _ticket(suite, token, title):
    created = suite.request(
        "POST",
        "/v1/tickets",
        token,
        json={"type": "incident", "title": title, "description": "It does not work"},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_a_requester_receives_mail_on_a_public_comment_and_none_on_an_internal_one(suite):
    marker = uuid.uuid4().hex[:8]
    admin = suite.sign_in_google(f"admin.{marker}@example.test", name="Ada Admin")
    rita = suite.sign_in_google(f"rita.{marker}@example.test", name="Rita Requester")
    _members(suite, 2)
    ticket = _ticket(suite, rita["access_token"], f"Laptop {marker} is hot")

    for body, public in ((f"Rita {marker} again, internal", False), ("On our way", True)):
        commented = suite.request(
            "POST",
            f"/v1/tickets/{ticket}/comments",
            admin["access_token"],
            json={"body": body, "public": public},
        )
        assert commented.status_code == 201, commented.text

    (mail,) = suite.mail.wait_for(rita["user"]["email"])
    wait_until(lambda: handled(suite, "ticketing.comment_added"), what="both comments handled")
    wait_until(
        lambda: (
            not suite.rows("notifications", "SELECT 1 FROM notify_outbox WHERE state = 'queued'")
        ),
        what="the outbox to settle",
    )
    assert len(suite.mail.messages(rita["user"]["email"])) == 1
    text, html = parts(mail)
    assert f"Laptop {marker} is hot" in mail["Subject"] and ticket in text
    for secret in ("internal", "On our way", admin["user"]["email"], "Ada Admin"):
        assert secret not in mail.as_string()
    assert [n["kind"] for n in notices(suite, rita["access_token"])["items"]] == ["ticket_comment"]


def test_a_new_policy_version_reaches_every_user_by_mail_and_in_platform(suite):
    marker = uuid.uuid4().hex[:8]
    people = [
        suite.sign_in_google(f"a.{marker}@one.test", hd="one.test"),
        suite.sign_in_google(f"b.{marker}@one.test", hd="one.test"),
        suite.sign_in_google(f"c.{marker}@two.test", hd="two.test"),
    ]
    assert len({p["tenant"]["id"] for p in people}) == 2
    _members(suite, 3)

    # as privacy's relay publishes a version a platform admin published
    published = Envelope.new(
        "privacy.policy_published",
        PLATFORM_TENANT,
        f"policy-{marker}",
        {
            "version": marker,
            "title": "Privacy policy",
            "summary": "Tickets are now kept for two years.",
            "url": "https://dzdesk.example/privacy",
            "published_at": "2026-12-04T00:00:00+00:00",
        },
        actor=system_actor("test"),
    )
    publish(suite.configs["privacy"]["AMQP_URI"], [published.to_dict()])

    for person in people:
        (mail,) = suite.mail.wait_for(person["user"]["email"])
        assert "Tickets are now kept for two years." in parts(mail)[0]
        (notice,) = notices(suite, person["access_token"])["items"]
        assert (notice["kind"], notice["data"]["version"], notice["read"]) == (
            "privacy_policy",
            marker,
            False,
        )
        read = suite.request(
            "POST", f"/v1/me/notifications/{notice['id']}/read", person["access_token"]
        )
        assert read.status_code == 200 and notices(suite, person["access_token"])["unread"] == 0
    # the preferences, through the gateway too; and /v1/me itself is still identity's
    token = people[0]["access_token"]
    preferences = suite.request("GET", "/v1/me/notifications/preferences", token)
    assert preferences.status_code == 200
    assert suite.request("GET", "/v1/me", token).json()["id"] == people[0]["user"]["id"]


def test_an_erased_subject_gets_nothing(suite):
    marker = uuid.uuid4().hex[:8]
    admin = suite.sign_in_google(f"admin.{marker}@example.test")
    zoe = suite.sign_in_google(f"zoe.{marker}@example.test")
    olga = suite.sign_in_google(f"olga.{marker}@example.test")
    _members(suite, 3)
    theirs = _ticket(suite, zoe["access_token"], "Zoe's ticket")
    hers = _ticket(suite, olga["access_token"], "Olga's ticket")

    erasure = suite.request("DELETE", "/v1/me", zoe["access_token"])
    assert erasure.status_code == 202, erasure.text
    wait_until_completed(suite, erasure.json()["id"], admin["access_token"], timeout=120)
    for ticket in (theirs, hers):
        commented = suite.request(
            "POST",
            f"/v1/tickets/{ticket}/comments",
            admin["access_token"],
            json={"body": "Any news?"},
        )
        assert commented.status_code in (201, 409), commented.text

    suite.mail.wait_for(olga["user"]["email"])
    wait_until(lambda: handled(suite, "ticketing.comment_added"), what="the comments handled")
    assert suite.mail.messages(zoe["user"]["email"]) == []
    assert not suite.rows(
        "notifications", "SELECT 1 FROM notify_members WHERE user_id = %s", (zoe["user"]["id"],)
    )
