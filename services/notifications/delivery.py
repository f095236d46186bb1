"""The mail outbox, one notice at a time: open the address, render, send, record.

The recipient's address is opened only here, at send time, through the service cipher with
the key asked of privacy afresh: a shredded key opens as ERASED and the mail is dropped,
never sent. The ticket's title goes in
only when the recipient may see the ticket (its requester, a watcher, staff) and it still
opens. A failure to reach the relay is retried with exponential backoff; the notice id makes
the mail the same mail however often it is tried.
"""

import smtplib

import structlog

from services.notifications import mail, store
from shared.crypto import ERASED
from shared.envelope import Envelope, system_actor
from shared.eventstore import append

log = structlog.get_logger()
STAFF = frozenset({"agent", "admin"})


def may_view(ticket, member):
    """Whether the member may see the ticket (ticketing's rule: staff, its requester, its
    watchers)."""
    user_id = member["user_id"]
    return (
        bool(STAFF & set(member.get("roles") or ()))
        or user_id == ticket["requester_id"]
        or user_id in (ticket["watchers"] or ())
    )


def _address(cipher, tenant_id, member):
    if member is None or not member.get("email"):
        return None
    # asked of privacy afresh, not from the cache: a key shredded a moment ago (its broadcast
    # still on its way) must not open an address
    cipher.forget(tenant_id, member["user_id"])
    address = cipher.open_value(tenant_id, "email", member["email"])
    return None if address in (ERASED, "", None) else address


def _ticket_label(conn, cipher, tenant_id, notice, member):
    if not notice.get("ticket_id"):
        return None
    ticket = store.ticket_by_id(conn, notice["ticket_id"])
    if ticket is None or not ticket.get("title") or not may_view(ticket, member):
        return None
    title = cipher.open_value(tenant_id, "title", ticket["title"])
    return f"“{title}”" if title and title != ERASED else None


def error_text(exc):
    """What a failed send says, without the relay's own words (which may echo an address)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    errno = getattr(exc, "errno", None)
    return f"{type(exc).__name__}" + (f" errno {errno}" if errno else "")


def _record(conn, tenant_id, name, notice, **data):
    """notifications.mail_sent / mail_dropped: ids and labels, never the address."""
    stream = f"mail-{notice['notice_id']}"
    event = Envelope.new(
        f"notifications.{name}",
        tenant_id,
        stream,
        {
            "notice_id": str(notice["notice_id"]),
            "recipient_id": notice["user_id"],
            "kind": notice["kind"],
            **data,
        },
        actor=system_actor("notifications"),
    )
    append(conn, stream, 0, [event])


def deliver(conn, cipher, relay, settings, tenant_id, notice_id):
    """Send one queued mail in the tenant transaction `conn`; what became of it ("sent",
    "dropped", "failed", "retry", or None when it is no longer queued or another sender
    holds it)."""
    notice = store.claim_mail(conn, notice_id)
    if notice is None:
        return None
    member = store.member(conn, notice["user_id"])
    if member is not None and not member["roles"]:
        member = None  # no longer a member
    address = _address(cipher, tenant_id, member)
    if address is None:
        reason = "erased" if member is not None else "no_address"
        store.finish_mail(conn, notice_id, "dropped", reason)
        _record(conn, tenant_id, "mail_dropped", notice, reason=reason)
        return "dropped"
    label = _ticket_label(conn, cipher, tenant_id, notice, member)
    values = mail.context(notice, label, settings.notifications_portal_url)
    subject, text, html_body = mail.render(notice["kind"], values)
    message = mail.message(settings.smtp_from, address, notice_id, subject, text, html_body)
    try:
        relay.send(message)
    except mail.PermanentFailure as exc:
        store.finish_mail(conn, notice_id, "failed", str(exc)[:500])
        _record(conn, tenant_id, "mail_dropped", notice, reason="failed")
        return "failed"
    except Exception as exc:  # the relay is away or refused for now: try again later
        attempts = notice["attempts"] + 1
        error = error_text(exc)
        if attempts >= settings.notifications_max_attempts:
            store.finish_mail(conn, notice_id, "failed", error)
            _record(conn, tenant_id, "mail_dropped", notice, reason="failed")
            return "failed"
        delay = min(
            settings.notifications_retry_base_seconds * 2 ** (attempts - 1),
            settings.notifications_retry_cap_seconds,
        )
        store.retry_mail(conn, notice_id, delay, error)
        log.warning("mail not sent; will retry", attempts=attempts, error=error)
        return "retry"
    store.finish_mail(conn, notice_id, "sent")
    _record(conn, tenant_id, "mail_sent", notice)
    return "sent"
