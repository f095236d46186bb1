"""Mail from events, read from a real SMTP server: who gets what, and what a mail holds."""

import datetime
import uuid

from tests.support.mailbox import parts
from tests.support.waiting import wait_until


def new_id():
    return str(uuid.uuid4())


def test_a_requester_gets_mail_on_a_public_comment_and_none_on_an_internal_one(
    start_notifications,
):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test", name="Rita Requester")
    agent = src.member(tenant, "alex@example.test", roles=("agent",), name="Alex Agent")
    rig.wait_members(2)
    ticket = src.ticket(tenant, requester, "Printer on fire")

    internal = src.comment(tenant, ticket, agent, "Internal: Rita again, sigh", internal=True)
    public = src.comment(tenant, ticket, agent, "We are on our way with a bucket")

    # the internal comment is handled and the later public one's mail has arrived: had the
    # internal one made a mail, it would be queued or sent by now
    rig.wait_handled(internal, public)
    (mail,) = rig.mail.wait_for("rita@example.test")
    # the relay took it a moment before the outbox records it sent
    wait_until(lambda: "queued" not in rig.mail_states().values(), 30, "the outbox to settle")
    assert len(rig.mail.messages("rita@example.test")) == 1
    assert rig.mail.messages("alex@example.test") == []  # nobody is told of their own comment

    text, html = parts(mail)
    assert "New reply" in mail["Subject"] and "Printer on fire" in mail["Subject"]
    assert f"https://desk.example/tickets/{ticket}" in text and "Printer on fire" in html
    whole = mail.as_string()
    for secret in ("bucket", "Internal", "sigh", "alex@example.test", "Alex", "Rita Requester"):
        assert secret not in whole
    assert mail["X-DZDesk-Notice"] and mail["Message-ID"].startswith(f"<{mail['X-DZDesk-Notice']}")


def test_watchers_hear_of_public_comments_and_the_assignee_of_the_assignment(
    start_notifications,
):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test")
    watcher = src.member(tenant, "walt@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    lead = src.member(tenant, "lena@example.test", roles=("agent",))
    rig.wait_members(4)
    ticket = src.ticket(tenant, requester, "VPN drops", watchers=[watcher])

    src.assign(tenant, ticket, lead, agent)
    src.comment(tenant, ticket, agent, "Try the other profile")

    (assigned,) = rig.mail.wait_for("alex@example.test")
    assert "assigned to you" in assigned["Subject"] and "VPN drops" in assigned["Subject"]
    (watched,) = rig.mail.wait_for("walt@example.test")
    assert "VPN drops" in watched["Subject"]  # a watcher may see the ticket
    rig.mail.wait_for("rita@example.test")
    assert rig.mail.messages("lena@example.test") == []

    due = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)).isoformat()
    for alert in ("sla_warning", "sla_breached"):
        src.emit(
            f"ticketing.{alert}",
            tenant,
            f"ticket-{ticket}",
            {"target": "resolution", "due_at": due, "target_minutes": 60},
        )
    breached, warned = sorted(
        rig.mail.wait_for("alex@example.test", count=3)[1:], key=lambda m: m["Subject"]
    )
    assert warned["Subject"] == "Ticket “VPN drops” is about to miss its resolution target"
    assert breached["Subject"] == "Ticket “VPN drops” has missed its resolution target"


def test_a_status_change_tells_the_requester(start_notifications):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    rig.wait_members(2)
    ticket = src.ticket(tenant, requester, "Screen is black")
    src.status(tenant, ticket, agent, "resolved", from_status="in_progress")

    (mail,) = rig.mail.wait_for("rita@example.test")
    assert mail["Subject"] == "Your ticket “Screen is black” is now resolved"
    (notice,) = rig.notices(tenant, requester)["items"]
    assert (notice["kind"], notice["data"], notice["read"]) == (
        "ticket_status",
        {"status": "resolved"},
        False,
    )


def test_a_comment_that_arrives_before_its_ticket_waits_for_it_and_an_old_one_tells_nobody(
    start_notifications,
):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    rig.wait_members(2)
    # a ticket opened before notifications knew of tickets: its comments tell nobody
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3)
    old = src.comment(tenant, new_id(), agent, "Old news", occurred_at=long_ago)
    # a comment whose ticket_opened is still on its way is retried until the ticket is known
    ticket = new_id()
    early = src.comment(tenant, ticket, agent, "Early reply")
    src.versions[(tenant, f"ticket-{ticket}")] = 0
    src.ticket(tenant, requester, "Late ticket", ticket_id=ticket)

    (mail,) = rig.mail.wait_for("rita@example.test")
    assert "Late ticket" in mail["Subject"]
    rig.wait_handled(old, early)
    assert rig.rows("SELECT count(*) FROM notify_notices") == [(1,)]


def test_mail_waits_out_a_relay_outage_and_is_sent_once(start_notifications):
    rig = start_notifications(start_mail=False)
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    rig.wait_members(2)
    ticket = src.ticket(tenant, requester, "Wi-Fi is slow")
    src.status(tenant, ticket, agent, "in_progress")
    wait_until(
        lambda: (
            rig.rows("SELECT attempts FROM notify_outbox WHERE state = 'queued'")
            and rig.rows("SELECT attempts FROM notify_outbox")[0][0] >= 3
        ),
        30,
        "a few failed attempts",
    )
    (error,) = rig.rows("SELECT last_error FROM notify_outbox")[0]
    assert error.startswith("ConnectionRefusedError")

    rig.mail.start()
    (mail,) = rig.mail.wait_for("rita@example.test")
    wait_until(lambda: rig.mail_states() == {requester: "sent"}, 30, "the mail to be recorded")
    assert len(rig.mail.messages()) == 1
    (sent,) = rig.rows(
        "SELECT envelope->'data' FROM events WHERE event_type = 'notifications.mail_sent'"
    )
    assert sent[0] == {
        "notice_id": mail["X-DZDesk-Notice"],
        "recipient_id": requester,
        "kind": "ticket_status",
    }


def test_a_disabled_webhook_tells_the_tenants_admins(start_notifications):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    admin = src.member(tenant, "ada@example.test", roles=("admin",))
    src.member(tenant, "alex@example.test", roles=("agent",))
    requester = src.member(tenant, "rita@example.test")
    rig.wait_members(3)
    webhook = new_id()
    disabled = src.emit(
        "integrations.webhook_disabled",
        tenant,
        f"webhook-{webhook}",
        {"webhook_id": webhook, "delivery_id": new_id(), "reason": "retries_exhausted"}
        | {"attempts": 8},
    )
    ticket = src.ticket(tenant, requester, "Later")
    src.status(tenant, ticket, admin, "resolved")

    (mail,) = rig.mail.wait_for("ada@example.test")
    assert mail["Subject"] == "A webhook of your organization was disabled"
    assert f"https://desk.example/settings/webhooks/{webhook}" in parts(mail)[0]
    assert "failed 8 times" in parts(mail)[0]
    rig.mail.wait_for("rita@example.test")  # a later notice: the webhook's has been handled
    rig.wait_handled(disabled)
    assert {m["To"] for m in rig.mail.messages()} == {"ada@example.test", "rita@example.test"}
