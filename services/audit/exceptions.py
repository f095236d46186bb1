"""Audit errors: one base class, each subclass carrying its HTTP status."""

from shared.errors import HttpError


class AuditError(HttpError):
    """The base of the service's errors; each subclass carries its HTTP status."""

    title = "Audit Error"


class InvalidQuery(AuditError):
    status, title = 400, "Bad Request"


class EmptyLog(AuditError):
    """There is nothing to sign or show yet."""

    status, title = 404, "Not Found"


class SigningKeyUnavailable(AuditError):
    """Neither AUDIT_SIGNING_KEY nor a stored key usable with AUDIT_SECRET_KEY."""

    status, title = 503, "Service Unavailable"


class InvalidEnvelope(ValueError):
    """A received message that is not an event envelope: it is dead-lettered, never appended."""


class ForgedSender(InvalidEnvelope):
    """An event published by another broker user than the service its name says."""
