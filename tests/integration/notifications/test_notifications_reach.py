"""A policy version reaches everyone; erased subjects get nothing; preferences are honoured;
one tenant's (or person's) notices are invisible to everyone else; STARTTLS and a login."""

import datetime
import ipaddress
import uuid

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.mailbox import parts
from tests.support.waiting import wait_until


def new_id():
    return str(uuid.uuid4())


def test_a_new_policy_version_reaches_every_user_of_every_tenant_by_mail_and_in_platform(
    start_notifications,
):
    rig = start_notifications()
    src, first, second = rig.sources, new_id(), new_id()
    people = {
        "ann@one.test": (first, src.member(first, "ann@one.test")),
        "bob@one.test": (first, src.member(first, "bob@one.test", roles=("agent",))),
        "cy@two.test": (second, src.member(second, "cy@two.test", roles=("admin",))),
    }
    # a preference cannot opt out of the policy notice (and asking to is refused)
    tenant, user = people["ann@one.test"]
    refused = rig.call(
        "PUT",
        "/preferences",
        tenant,
        user,
        json={"preferences": [{"kind": "privacy_policy", "email": False}]},
    )
    assert refused.status_code == 422, refused.text
    rig.wait_members(3)

    rig.publish_policy("2026-12", "We now keep tickets for two years, not five.")

    for address, (tenant, user) in people.items():
        (mail,) = rig.mail.wait_for(address)
        text, html = parts(mail)
        assert "Policy 2026-12" in mail["Subject"]
        assert "two years, not five" in text and "two years, not five" in html
        assert "https://dzdesk.example/privacy" in text and "https://dzdesk.example/privacy" in html
        assert [a for a in people if a in mail.as_string()] == [address]
        listed = rig.notices(tenant, user)
        assert listed["unread"] == 1
        (notice,) = listed["items"]
        assert notice["kind"] == "privacy_policy" and notice["data"]["version"] == "2026-12"
        assert notice["data"]["summary"] == "We now keep tickets for two years, not five."
        read = rig.call("POST", f"/{notice['id']}/read", tenant, user)
        assert read.status_code == 200 and read.json()["read"] is True
        assert rig.notices(tenant, user)["unread"] == 0
        # accepting it stays privacy's: nobody has accepted by being told
        current = requests.get(
            f"http://{rig.privacy_cfg['WEB_SERVER_ADDRESS']}/v1/privacy/policies/current",
            headers=rig.tokens.headers(tenant_id=tenant, user_id=user),
            timeout=10,
        ).json()
        assert (current["version"], current["accepted"]) == ("2026-12", False)
    assert len(rig.mail.messages()) == 3


def test_an_erased_subject_gets_nothing_and_their_queued_mail_is_dropped(start_notifications):
    rig = start_notifications(start_mail=False)  # the relay is down: mail waits in the outbox
    src, tenant = rig.sources, new_id()
    purged = src.member(tenant, "pia@example.test")
    shredded = src.member(tenant, "sam@example.test")
    other = src.member(tenant, "olga@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    rig.wait_members(4)
    tickets = {who: src.ticket(tenant, who, f"Ticket of {who}") for who in (purged, shredded)}
    for ticket in tickets.values():
        src.comment(tenant, ticket, agent, "Looking into it")
    wait_until(lambda: len(rig.mail_states()) == 2, 30, "two queued mails")
    assert set(rig.mail_states().values()) == {"queued"}

    with rig.rpc() as notifications:
        receipt = notifications.purge_subject(tenant, purged, "req-1")
    assert receipt["service"] == "notifications" and receipt["purged"]["queued_mail"] == 1
    with rig.rpc("privacy") as privacy:  # the key alone gone, before any purge reached here
        assert privacy.shred_subject_key(tenant, shredded, {"system": "test"})
        assert privacy.shred_subject_key(tenant, purged, {"system": "test"})
    # identity's events about the purged subject, late, add nothing back
    src.emit(
        "identity.user_profile_rectified",
        tenant,
        f"member-{purged}",
        {"user_id": purged, "fields": ["email"]},
        pii={"email": (purged, "pia@example.test")},
    )
    late = src.comment(tenant, tickets[purged], agent, "Any news?")
    rig.wait_handled(late, src.published[-2])

    rig.mail.start()
    ticket = src.ticket(tenant, other, "Olga's ticket")
    src.comment(tenant, ticket, agent, "Done")
    rig.mail.wait_for("olga@example.test")  # the relay is back and works through the outbox

    wait_until(lambda: "queued" not in rig.mail_states().values(), 30, "the outbox to settle")
    assert rig.mail_states() == {shredded: "dropped", other: "sent"}
    assert [m["To"] for m in rig.mail.messages()] == ["olga@example.test"]
    assert rig.rows("SELECT count(*) FROM notify_members WHERE user_id = %s", purged) == [(0,)]
    assert rig.rows("SELECT count(*) FROM notify_notices WHERE user_id = %s", purged) == [(0,)]
    dropped = rig.rows(
        "SELECT envelope->'data' FROM events WHERE event_type = 'notifications.mail_dropped'"
    )
    assert [row[0]["reason"] for row in dropped] == ["erased"]
    assert all(row[0]["recipient_id"] == shredded for row in dropped)


def test_preferences_are_honoured(start_notifications):
    rig = start_notifications()
    src, tenant = rig.sources, new_id()
    requester = src.member(tenant, "rita@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    defaults = rig.call("GET", "/preferences", tenant, requester).json()["preferences"]
    assert {p["kind"]: (p["email"], p["platform"], p["optional"]) for p in defaults} == {
        "ticket_status": (True, True, True),
        "ticket_comment": (True, True, True),
        "ticket_assigned": (True, True, True),
        "ticket_sla": (True, True, True),
        "group_queue": (True, True, True),
        "group_sla": (True, True, True),
        "webhook_disabled": (True, True, True),
        "privacy_policy": (True, True, False),
    }
    chosen = rig.call(
        "PUT",
        "/preferences",
        tenant,
        requester,
        json={
            "preferences": [
                {"kind": "ticket_status", "email": False},
                {"kind": "ticket_comment", "platform": False},
            ]
        },
    )
    assert chosen.status_code == 200, chosen.text
    shown = {p["kind"]: (p["email"], p["platform"]) for p in chosen.json()["preferences"]}
    assert shown["ticket_status"] == (False, True) and shown["ticket_comment"] == (True, False)
    assert rig.call("PUT", "/preferences", tenant, requester, json={}).status_code == 400
    rig.wait_members(2)

    ticket = src.ticket(tenant, requester, "Keyboard sticky")
    src.status(tenant, ticket, agent, "in_progress")
    src.comment(tenant, ticket, agent, "Cleaning it")

    (mail,) = rig.mail.wait_for("rita@example.test")  # the comment's, by mail only
    assert "New reply" in mail["Subject"]
    wait_until(lambda: rig.notices(tenant, requester)["items"], 30, "the status notice")
    wait_until(lambda: "queued" not in rig.mail_states().values(), 30, "the outbox to settle")
    assert [n["kind"] for n in rig.notices(tenant, requester)["items"]] == ["ticket_status"]
    assert len(rig.mail.messages("rita@example.test")) == 1


def test_another_tenants_and_another_persons_notices_are_invisible(start_notifications):
    rig = start_notifications()
    src, tenant, elsewhere = rig.sources, new_id(), new_id()
    requester = src.member(tenant, "rita@example.test")
    neighbour = src.member(tenant, "ned@example.test")
    agent = src.member(tenant, "alex@example.test", roles=("agent",))
    rig.wait_members(3)
    ticket = src.ticket(tenant, requester, "Mouse gone")
    src.status(tenant, ticket, agent, "resolved")
    rig.mail.wait_for("rita@example.test")
    (notice,) = rig.notices(tenant, requester)["items"]

    # the same user id in another tenant, and another person of the same tenant
    for other_tenant, user in ((elsewhere, requester), (tenant, neighbour)):
        assert rig.notices(other_tenant, user) == {"items": [], "next_cursor": None, "unread": 0}
        assert rig.call("POST", f"/{notice['id']}/read", other_tenant, user).status_code == 404
    assert rig.call("POST", "/not-a-notice/read", tenant, requester).status_code == 404
    assert rig.notices(tenant, requester)["unread"] == 1


def _certificate(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_mail_goes_through_a_relay_that_requires_starttls_and_a_login(
    start_notifications, tmp_path
):
    cert, key = _certificate(tmp_path)
    rig = start_notifications(
        mail_options=("--tls-cert", cert, "--tls-key", key, "--user", "desk", "--password", "pw"),
        SMTP_HOST="localhost",
        SMTP_STARTTLS="true",
        SMTP_CA_FILE=cert,
        SMTP_USERNAME="desk",
        SMTP_PASSWORD="pw",
    )
    tenant = new_id()
    rig.sources.member(tenant, "tia@example.test")
    rig.wait_members(1)
    rig.publish_policy("2026-tls", "Sent over TLS.")
    (mail,) = rig.mail.wait_for("tia@example.test")
    assert "Sent over TLS." in parts(mail)[0]
