"""Ticketing's HTTP-facing errors on shared.errors: one base, domain errors mapped once."""

from services.ticketing import domain
from shared.errors import (
    Conflict,
    Forbidden,
    HttpError,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)


class TicketingServiceError(HttpError):
    """The base of ticketing's HTTP-facing errors; each subclass carries its HTTP status."""


class TicketNotFound(TicketingServiceError, NotFound):
    """Also what a caller gets for a ticket of another tenant or one they may not see."""


class FieldNotFound(TicketingServiceError, NotFound):
    pass


class ExternalIdTaken(TicketingServiceError, Conflict):
    """Another ticket of the tenant carries this external id."""

    def __init__(self, external_id, ticket_id=None):
        extra = {"errors": {"external_id": ["already used by another ticket of this tenant"]}}
        if ticket_id is not None:
            extra["ticket_id"] = ticket_id
        super().__init__(f"the external id {external_id!r} is taken", **extra)


class PolicyNotFound(TicketingServiceError, NotFound):
    """An SLA policy id the tenant has not set."""


class ReportNotFound(TicketingServiceError, NotFound):
    pass


class ActionForbidden(TicketingServiceError, Forbidden):
    pass


class TicketConflict(TicketingServiceError, Conflict):
    pass


class InvalidTransition(TicketConflict):
    pass


class ApprovalMissing(TicketConflict):
    """A gated move of a ticket whose approval is missing or rejected; names the stage."""


class StageNotFound(TicketingServiceError, NotFound):
    pass


class StaleVersion(TicketingServiceError, PreconditionFailed):
    pass


class RuleViolated(TicketingServiceError, Unprocessable):
    pass


class InvalidQuery(TicketingServiceError, Unprocessable):
    """A query string the route cannot answer (bad instant, empty window, unknown choice)."""


def from_domain(error):
    """The HTTP-facing error for a domain error (raise it `from` the domain error)."""
    if isinstance(error, domain.TicketNotFound):
        return TicketNotFound("ticket not found")
    if isinstance(error, domain.InvalidTransition):
        return InvalidTransition(
            str(error), current=error.current, requested=error.requested, allowed=error.allowed
        )
    if isinstance(error, domain.FieldNotDefined):
        return FieldNotFound(str(error))
    if isinstance(error, domain.FieldAlreadyDefined):
        return TicketConflict(str(error), errors={"key": ["already defined"]})
    if isinstance(error, (domain.TicketClosed, domain.TicketAlreadyExists)):
        return TicketConflict(str(error))
    if isinstance(error, domain.ValidationFailed):
        return RuleViolated(str(error), errors={error.field: [error.message]})
    if isinstance(error, domain.NotPermitted):
        return ActionForbidden(error.reason)
    if isinstance(error, domain.ApprovalRequired):
        return ApprovalMissing(
            str(error),
            requested=error.requested,
            missing_approval=error.stage,
            approval_state=error.state,
        )
    if isinstance(error, domain.ApprovalConflict):
        return TicketConflict(str(error), stage=error.stage, current_stage=error.current_stage)
    if isinstance(error, domain.UnknownStage):
        return StageNotFound(str(error))
    return RuleViolated(str(error))
