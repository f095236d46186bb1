"""Privacy's errors, each with the HTTP status the web layer answers with."""

from shared.errors import Conflict, Forbidden, HttpError, NotFound, Unprocessable


class PrivacyError(HttpError):
    """Every error privacy itself raises (500 unless a subclass says otherwise)."""


class RequestNotFound(PrivacyError, NotFound):
    pass


class SubjectNotFound(PrivacyError, NotFound):
    pass


class NotAuthorised(PrivacyError, Forbidden):
    pass


class NotADataSubject(PrivacyError, Unprocessable):
    """A service account holds no personal data: it neither is nor files a subject's request."""


class ExportNotReady(PrivacyError, Conflict):
    pass


class ExportExpired(PrivacyError):
    status, title = 410, "Gone"


class PolicyNotFound(PrivacyError, NotFound):
    pass


class PolicyExists(PrivacyError, Conflict):
    pass


class HoldNotFound(PrivacyError, NotFound):
    pass
