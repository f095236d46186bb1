"""Ticketing's HTTP-facing errors: one base class, a status per subclass, domain errors mapped once."""

from services.ticketing import domain
from shared.errors import HttpError


class TicketingServiceError(HttpError):
    """The base of ticketing's HTTP-facing errors; each subclass carries its HTTP status."""


class TicketNotFound(TicketingServiceError):
    """Also what a caller gets for a ticket of another tenant or one they may not see."""

    status, title = 404, "Not Found"


class ActionForbidden(TicketingServiceError):
    status, title = 403, "Forbidden"


class TicketConflict(TicketingServiceError):
    status, title = 409, "Conflict"


class InvalidTransition(TicketConflict):
    pass


class StaleVersion(TicketingServiceError):
    status, title = 412, "Precondition Failed"


class RuleViolated(TicketingServiceError):
    status, title = 422, "Unprocessable Content"


def from_domain(error):
    """The HTTP-facing error for a domain error (raise it `from` the domain error)."""
    if isinstance(error, domain.TicketNotFound):
        return TicketNotFound("ticket not found")
    if isinstance(error, domain.InvalidTransition):
        return InvalidTransition(
            str(error), current=error.current, requested=error.requested, allowed=error.allowed
        )
    if isinstance(error, (domain.TicketClosed, domain.TicketAlreadyExists)):
        return TicketConflict(str(error))
    if isinstance(error, domain.ValidationFailed):
        return RuleViolated(str(error), errors={error.field: [error.message]})
    if isinstance(error, domain.Forbidden):
        return ActionForbidden(error.reason)
    return RuleViolated(str(error))
