"""The integrations service's typed settings, read once when its container is set up."""

from pydantic import SecretStr

from shared.settings import CommaList, ServiceSettings

# Standard Webhooks' schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
# after each failure: about 27.6 hours of trying before the endpoint is disabled
DEFAULT_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


class IntegrationsSettings(ServiceSettings):
    service = "integrations"

    # its own secret (the base64 of 32 bytes): webhook secrets are sealed under a key derived
    # from it (services.integrations.signing); privacy's master key is privacy's alone
    integrations_secret_key: SecretStr
    # seconds before each attempt of a delivery (the first counted from the event's arrival)
    integrations_retry_schedule: CommaList = tuple(DEFAULT_SCHEDULE.split(","))
    # hosts (exact names) and CIDRs a webhook may reach although they are not public
    # addresses: for tests and on-premises receivers
    integrations_allowed_hosts: CommaList = ()
    # a CA bundle (PEM file) deliveries trust instead of the system's
    integrations_ca_bundle: str | None = None
    integrations_connect_timeout: float = 3.0
    integrations_read_timeout: float = 10.0
    # a delivery's whole request, response body included, ends by then
    integrations_request_deadline: float = 15.0
    integrations_max_in_flight: int = 50
    integrations_max_in_flight_per_endpoint: int = 2
    integrations_dispatch_interval: float = 0.25
    integrations_dispatch_batch: int = 500
    integrations_feed_max_wait: float = 30.0
    integrations_feed_poll_interval: float = 0.25

    @property
    def retry_schedule(self):
        """The waits (seconds, floats) before attempt 1, 2, ...: its length is the attempts."""
        return tuple(float(step) for step in self.integrations_retry_schedule) or (0.0,)

    @property
    def ca_bundle(self):
        return self.integrations_ca_bundle or True
