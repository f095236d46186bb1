"""Errors of the notifications service, each with the HTTP status it maps to."""

from shared.errors import HttpError


class NotificationsError(HttpError):
    """The base of the service's errors; each subclass carries its HTTP status."""

    title = "Notifications Error"


class NoticeNotFound(NotificationsError):
    """Unknown, someone else's or another tenant's: all look the same from outside."""

    status, title = 404, "Not Found"

    def __init__(self):
        super().__init__("no such notification")


class NotOptional(NotificationsError):
    """The privacy policy notice reaches everyone: it cannot be turned off."""

    status, title = 422, "Unprocessable Entity"

    def __init__(self, kind):
        super().__init__(f"the {kind} notice is not optional")
        self.kind = kind


class TicketNotYetKnown(NotificationsError):
    """An event about a ticket arrived before its ticket_opened; the consumer retries it."""

    status, title = 409, "Conflict"

    def __init__(self, stream_id):
        super().__init__(f"ticket stream {stream_id} is not opened here yet")
