"""Errors the ticketing domain raises when a command breaks a business rule."""

from __future__ import annotations


class TicketingError(Exception):
    """Base of every ticketing error; the service maps each subclass to one HTTP status."""


class TicketNotFound(TicketingError):
    def __init__(self, ticket_id: str | None = None):
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id} not found" if ticket_id else "ticket not found")


class TicketAlreadyExists(TicketingError):
    def __init__(self, ticket_id: str):
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id} already exists")


class TicketClosed(TicketingError):
    """The ticket is closed or cancelled: only links, rectification and SLA records still apply."""

    def __init__(self, ticket_id: str, status: str):
        self.ticket_id = ticket_id
        self.status = status
        super().__init__(f"ticket {ticket_id} is {status}")


class InvalidTransition(TicketingError):
    def __init__(self, current: str, requested: str, allowed: list[str]):
        self.current = current
        self.requested = requested
        self.allowed = allowed
        targets = ", ".join(allowed) or "none"
        super().__init__(f"cannot move from {current} to {requested}; allowed: {targets}")


class ValidationFailed(TicketingError):
    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotPermitted(TicketingError):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
