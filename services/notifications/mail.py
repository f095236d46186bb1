"""Mail: rendered from the templates (plain text and HTML) and handed to an SMTP relay."""

import html
import pathlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from string import Template

TEMPLATES = pathlib.Path(__file__).with_name("templates")
STATUS_WORDS = {
    "new": "new",
    "open": "open",
    "in_progress": "in progress",
    "pending": "waiting for you",
    "resolved": "resolved",
    "closed": "closed",
    "cancelled": "cancelled",
}


class PermanentFailure(Exception):
    """The relay refused the mail for good (a 5xx answer): retrying would not help."""


def _template(name):
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def context(notice, ticket_label, portal_url):
    """The template values of a notice: labels and public text; the ticket's title only when
    the caller found the recipient may see it (`ticket_label`)."""
    data = notice.get("data") or {}
    ticket_id = notice.get("ticket_id") or ""
    return {
        "ticket": ticket_label or f"#{ticket_id[:8]}",
        "ticket_url": f"{portal_url.rstrip('/')}/tickets/{ticket_id}",
        "status": STATUS_WORDS.get(data.get("status"), data.get("status") or ""),
        "alert": "is about to miss" if data.get("alert") == "warning" else "has missed",
        "target": (data.get("target") or "").replace("_", " "),
        "policy_title": data.get("title") or "",
        "policy_version": data.get("version") or "",
        "policy_summary": data.get("summary") or "",
        "policy_url": data.get("url") or f"{portal_url.rstrip('/')}/privacy/policy",
        "notifications_url": f"{portal_url.rstrip('/')}/settings/notifications",
        "webhook_attempts": data.get("attempts") or "several",
        "webhook_url": f"{portal_url.rstrip('/')}/settings/webhooks/{data.get('webhook_id') or ''}",
    }


def render(kind, values):
    """(subject, plain text, HTML) of a notice kind; HTML values escaped."""
    subject, _, text = _template(f"{kind}.txt").substitute(values).partition("\n\n")
    escaped = {key: html.escape(str(value)) for key, value in values.items()}
    return (
        subject.removeprefix("Subject: ").strip(),
        text,
        _template(f"{kind}.html").substitute(escaped),
    )


def message(sender, recipient, notice_id, subject, text, html_body):
    """The mail; its Message-ID is the notice's, so a mail sent twice (at least once) is
    recognisably the same one."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{notice_id}@dzdesk.notifications>"
    mail["X-DZDesk-Notice"] = str(notice_id)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(text)
    mail.add_alternative(html_body, subtype="html")
    return mail


class SmtpRelay:
    """Sends through the configured relay: STARTTLS when SMTP_STARTTLS, a login when
    SMTP_USERNAME is set; one connection per mail."""

    def __init__(self, settings):
        self.settings = settings

    def _tls(self):
        cafile = self.settings.smtp_ca_file or None
        return ssl.create_default_context(cafile=cafile)

    def send(self, mail):
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
                smtp.ehlo()
                if s.smtp_starttls:
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(mail)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentFailure(type(exc).__name__) from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{type(exc).__name__} {exc.smtp_code}") from exc
            raise
