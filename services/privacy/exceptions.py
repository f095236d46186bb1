"""Privacy's errors, each with the HTTP status the web layer answers with."""

from shared.errors import HttpError


class PrivacyError(HttpError):
    status, title = 500, "Internal Server Error"


class RequestNotFound(PrivacyError):
    status, title = 404, "Not Found"


class SubjectNotFound(PrivacyError):
    status, title = 404, "Not Found"


class NotAuthorised(PrivacyError):
    status, title = 403, "Forbidden"


class ExportNotReady(PrivacyError):
    status, title = 409, "Conflict"


class ExportExpired(PrivacyError):
    status, title = 410, "Gone"


class PolicyNotFound(PrivacyError):
    status, title = 404, "Not Found"


class PolicyExists(PrivacyError):
    status, title = 409, "Conflict"


class HoldNotFound(PrivacyError):
    status, title = 404, "Not Found"


class KeysNotReconciled(PrivacyError):
    status, title = 503, "Service Unavailable"
