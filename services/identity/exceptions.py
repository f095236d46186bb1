"""Identity's errors, each mapped once to its HTTP status (problem+json in shared.web)."""

from shared.errors import HttpError
from shared.retry import Contended


class IdentityError(HttpError):
    """The base of identity's errors; each subclass carries its HTTP status."""


class SignInRejected(IdentityError):
    status, title = 401, "Unauthorized"


class InvalidRefreshToken(IdentityError):
    status, title = 401, "Unauthorized"


class InvalidRoles(IdentityError):
    status, title = 400, "Bad Request"


class UserNotFound(IdentityError):
    status, title = 404, "Not Found"


class LastAdminRequired(IdentityError):
    status, title = 409, "Conflict"


class SignInRaced(IdentityError, Contended):
    """Two first sign-ins of one organization or account met; the entrypoint signs in again."""

    status, title = 409, "Conflict"


class StalePrecondition(IdentityError):
    status, title = 412, "Precondition Failed"


class SignInUnavailable(IdentityError):
    status, title = 503, "Service Unavailable"
