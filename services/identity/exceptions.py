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


class ServiceAccountNotFound(IdentityError):
    status, title = 404, "Not Found"


class InvalidServiceAccount(IdentityError):
    """Roles a service account may not hold (admin, privacy_officer) or unknown ones."""

    status, title = 422, "Unprocessable Content"


class TooManySecrets(IdentityError):
    status, title = 409, "Conflict"


class NotADataSubject(IdentityError):
    """A service account holds no personal data: it has no erasure to ask for."""

    status, title = 422, "Unprocessable Content"


class OAuthError(IdentityError):
    """An RFC 6749 section 5.2 error of the token endpoint: answered as `{"error": code}`,
    not as a problem document, because OAuth clients read that body."""

    status, title = 400, "Bad Request"

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
