"""Errors of the ai service, each with the HTTP status it maps to."""

from shared.errors import HttpError


class AiError(HttpError):
    """The base of the service's errors; each subclass carries its HTTP status."""

    title = "AI Error"


class TicketNotFound(AiError):
    """Unknown here, or another tenant's: both look the same from outside."""

    status, title = 404, "Not Found"

    def __init__(self, ticket_id):
        # never the id as sent: a path segment is whatever the caller typed, and this text is logged
        super().__init__("no such ticket is known to the ai service")


class TicketNotYetKnown(AiError):
    """An event about a ticket arrived before its ticket_opened; the consumer retries it."""

    status, title = 409, "Conflict"

    def __init__(self, stream_id):
        super().__init__(f"ticket stream {stream_id} is not opened here yet")
