"""What a mail holds: rendered from the templates, HTML escaped, only what its notice says."""

import smtplib

import pytest

from services.notifications import mail
from services.notifications.delivery import error_text, may_view
from services.notifications.events import KINDS

PORTAL = "https://desk.example/"


def notice(kind, **data):
    return {"notice_id": "n-1", "kind": kind, "ticket_id": "3f2a9c1e-0000", "data": data}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_subject_plain_text_and_html(kind):
    values = mail.context(notice(kind, status="resolved", title="P", version="1"), None, PORTAL)
    subject, text, html = mail.render(kind, values)

    assert subject and "\n" not in subject and "${" not in subject + text + html
    assert text.strip() and html.lstrip().startswith("<!DOCTYPE html>")


def test_a_ticket_without_a_title_it_may_show_is_named_by_its_number():
    values = mail.context(notice("ticket_comment"), None, PORTAL)
    subject, text, _ = mail.render("ticket_comment", values)

    assert subject == "New reply on ticket #3f2a9c1e"
    assert "https://desk.example/tickets/3f2a9c1e-0000" in text


def test_html_escapes_what_it_is_given():
    values = mail.context(notice("ticket_status", status="resolved"), "“<b>x</b>”", PORTAL)
    _, text, html = mail.render("ticket_status", values)

    assert "<b>x</b>" in text and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_the_message_id_is_the_notices():
    message = mail.message("Desk <d@x>", "r@x", "abc", "S", "t", "<p>h</p>")

    assert message["Message-ID"] == "<abc@dzdesk.notifications>" and message["To"] == "r@x"
    assert {part.get_content_type() for part in message.iter_parts()} == {
        "text/plain",
        "text/html",
    }


def test_who_may_see_a_ticket_title():
    ticket = {"requester_id": "r", "watchers": ["w"]}

    assert may_view(ticket, {"user_id": "r", "roles": ["requester"]})
    assert may_view(ticket, {"user_id": "w", "roles": ["requester"]})
    assert may_view(ticket, {"user_id": "a", "roles": ["agent"]})
    assert not may_view(ticket, {"user_id": "x", "roles": ["requester"]})


def test_a_failed_send_is_described_without_the_relays_words():
    refused = smtplib.SMTPDataError(451, b"4.3.0 <rita@example.test> try later")

    assert error_text(refused) == "SMTPDataError 451"
    assert error_text(ConnectionRefusedError(111, "refused")) == "ConnectionRefusedError errno 111"
