"""The notifications service's typed settings: the SMTP relay, the sender's pace and retries."""

from typing import ClassVar

from pydantic import SecretStr

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service: ClassVar[str] = "notifications"

    # any provider's SMTP relay: STARTTLS when asked (port 587), a login when a user is set
    smtp_host: str = "localhost"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    # a CA bundle to trust for STARTTLS (blank: the system's); a relay's own CA in tests
    smtp_ca_file: str = ""
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = 10.0
    smtp_from: str = "DZDesk <no-reply@dzdesk.localhost>"

    # how long an event about a ticket not yet known here is retried (its ticket_opened may be
    # on its way); older ones are about tickets opened before this service knew of them
    notifications_unknown_ticket_seconds: float = 600.0

    # where the links in a mail point: the portal's base URL
    notifications_portal_url: str = "http://127.0.0.1:8080"
    # the sender: seconds between polls when idle, notices per poll
    notifications_send_interval: float = 1.0
    notifications_send_batch: int = 50
    # retries with exponential backoff from base to cap; after max_attempts a notice fails
    notifications_retry_base_seconds: float = 5.0
    notifications_retry_cap_seconds: float = 3600.0
    notifications_max_attempts: int = 10
