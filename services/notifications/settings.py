"""The notifications service's typed settings: the SMTP relay, the sender's pace and retries."""

from typing import ClassVar

from pydantic import SecretStr

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service: ClassVar[str] = "notifications"

    # the SMTP relay mail goes through (any provider's); `make run` starts a local one here
    smtp_host: str = "localhost"
    # its port: 587 for a provider's submission service with STARTTLS
    smtp_port: int = 8025
    # upgrade the connection with STARTTLS before anything else is said
    smtp_starttls: bool = False
    # a CA bundle to trust for STARTTLS (blank: the system's); a relay's own CA in tests
    smtp_ca_file: str = ""
    # a login at the relay when set (after STARTTLS when it is on)
    smtp_username: str = ""
    # the password of that login
    smtp_password: SecretStr = SecretStr("")
    # seconds a relay may take to answer
    smtp_timeout: float = 10.0
    # the sender of every mail
    smtp_from: str = "DZDesk <no-reply@dzdesk.localhost>"

    # how long an event about a ticket not yet known here is retried (its ticket_opened may be
    # on its way); older ones are about tickets opened before this service knew of them
    notifications_unknown_ticket_seconds: float = 600.0

    # where the links in a mail point: the portal's base URL
    notifications_portal_url: str = "http://127.0.0.1:8080"
    # seconds between the sender's looks at the outbox when there is nothing to send
    notifications_send_interval: float = 1.0
    # mails the sender takes per look
    notifications_send_batch: int = 50
    # a mail the relay does not take is retried after base, 2 x base, ... seconds, up to cap
    notifications_retry_base_seconds: float = 5.0
    # the longest wait between two attempts
    notifications_retry_cap_seconds: float = 3600.0
    # attempts before a mail is given up as failed (a 5xx refusal fails it at once)
    notifications_max_attempts: int = 10
