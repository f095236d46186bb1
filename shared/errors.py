"""HTTP-facing errors: each carries its status once, mapped to problem+json by the web layer."""


class HttpError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail=None, **extra):
        self.detail = detail
        self.extra = extra
        super().__init__(detail or self.title)

    @property
    def reason(self):
        """The text safe to show to the caller (the problem's detail)."""
        return self.detail or self.title


class BadRequest(HttpError):
    status, title = 400, "Bad Request"


class Unauthorized(HttpError):
    status, title = 401, "Unauthorized"


class Forbidden(HttpError):
    status, title = 403, "Forbidden"


class NotFound(HttpError):
    status, title = 404, "Not Found"


class Conflict(HttpError):
    status, title = 409, "Conflict"


class PreconditionFailed(HttpError):
    status, title = 412, "Precondition Failed"


class PayloadTooLarge(HttpError):
    status, title = 413, "Content Too Large"


class UnsupportedMediaType(HttpError):
    status, title = 415, "Unsupported Media Type"


class Unprocessable(HttpError):
    status, title = 422, "Unprocessable Content"


class PreconditionRequired(HttpError):
    status, title = 428, "Precondition Required"


class ServiceUnavailable(HttpError):
    status, title = 503, "Service Unavailable"


class DependencyUnavailable(ServiceUnavailable, ConnectionError):
    """A dependency (the broker, a service behind it) cannot be reached now: 503 with
    Retry-After over HTTP; a ConnectionError, so an event handler retries it as transient."""

    retry_after = 5


class KeysNotReconciled(ServiceUnavailable):
    """Privacy has not yet checked its subject keys against the audit log since it started
    (after a restore it may hold keys that were shredded): try again shortly. Other services
    meet it as a remote error of this class's name (`shared.keys`)."""
