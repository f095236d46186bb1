"""One delivery attempt over HTTPS: signed, short timeouts, no redirects, a bounded read.

The connection goes to the address the URL check resolved and approved (the certificate is
still verified for the URL's host name, which is also the SNI and the Host header), so a name
that resolves elsewhere a moment later cannot steer the request to an internal address.
"""

import dataclasses
import json
import time
from urllib.parse import urlsplit

import certifi
import eventlet
import urllib3
from urllib3 import exceptions as failures

from services.integrations import signing, urls
from services.integrations.exceptions import UnsafeUrl

USER_AGENT = "DZDesk-Webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
MAX_ERROR = 200


@dataclasses.dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(payload):
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _reason(exc):
    """A short, value-free account of a failed request (never the URL: it may hold a token)."""
    if isinstance(exc, failures.SSLError):
        return "TLS handshake or certificate failed"
    if isinstance(exc, failures.TimeoutError):
        return "timed out"
    if isinstance(exc, (failures.NewConnectionError, failures.ProtocolError, ConnectionError)):
        return "could not connect"
    return type(exc).__name__


class Sender:
    """Sends deliveries; safe to share between green threads (nothing is shared per request)."""

    def __init__(self, settings):
        self.settings = settings
        self.allowance = urls.Allowance(settings.integrations_allowed_hosts)
        self.ca_certs = settings.integrations_ca_bundle or certifi.where()
        self.timeout = urllib3.Timeout(
            connect=settings.integrations_connect_timeout,
            read=settings.integrations_read_timeout,
        )

    def send(self, url, secret, message_id, payload):
        body = body_of(payload)
        started = time.monotonic()
        status, error = None, None
        try:
            address = urls.check(url, self.allowance)  # again: the name may point elsewhere now
            with eventlet.Timeout(self.settings.integrations_request_deadline):
                status = self._post(url, address, secret, message_id, body)
        except UnsafeUrl as exc:
            error = exc.why
        except eventlet.Timeout:
            error = "timed out"
        except (failures.HTTPError, OSError) as exc:
            error = _reason(exc)
        if status is not None and not 200 <= status < 300:
            error = f"answered {status}"
        duration = int((time.monotonic() - started) * 1000)
        return Outcome(status, duration, error[:MAX_ERROR] if error else None)

    def _post(self, url, address, secret, message_id, body):
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 443
        pool = urllib3.HTTPSConnectionPool(
            str(address) if address is not None else host,
            port,
            server_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=self.ca_certs,
            timeout=self.timeout,
            retries=False,
            maxsize=1,
        )
        headers = {
            **signing.headers(secret, message_id, body),
            "host": parts.netloc,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                response.read(MAX_RESPONSE_BYTES)  # a little of the answer, to end the exchange
            finally:
                response.release_conn()
            return response.status
        finally:
            pool.close()
