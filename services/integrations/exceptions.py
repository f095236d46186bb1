"""Errors of the integrations service, each with the HTTP status it maps to."""

from shared.errors import HttpError


class IntegrationsError(HttpError):
    """The base of the service's errors; each subclass carries its HTTP status."""

    title = "Integrations Error"


class WebhookNotFound(IntegrationsError):
    """Unknown, or another tenant's: both look the same from outside."""

    status, title = 404, "Not Found"

    def __init__(self):
        # never the id as sent: a path segment is whatever the caller typed, and this is logged
        super().__init__("no such webhook")


class DeliveryNotFound(IntegrationsError):
    status, title = 404, "Not Found"

    def __init__(self):
        super().__init__("no such delivery")


class UnsafeUrl(IntegrationsError):
    """A webhook URL that is not https, or whose host is not a public address."""

    status, title = 422, "Unprocessable Content"

    def __init__(self, reason):
        super().__init__(f"the webhook url is not allowed: {reason}", field="url")
        self.why = reason
