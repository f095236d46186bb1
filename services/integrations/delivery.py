"""One delivery attempt over HTTPS: signed, short timeouts, no redirects, a bounded read."""

import dataclasses
import json
import time

import eventlet
import requests

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


class Sender:
    """Sends deliveries with one pooled session; safe to share between green threads."""

    def __init__(self, settings):
        self.settings = settings
        self.allowance = urls.Allowance(settings.integrations_allowed_hosts)
        self.session = requests.Session()
        self.session.trust_env = False  # never through a proxy the environment names

    def send(self, url, secret, message_id, payload):
        body = body_of(payload)
        started = time.monotonic()
        status, error = None, None
        try:
            urls.check(url, self.allowance)  # again: the name may point elsewhere by now
            with eventlet.Timeout(self.settings.integrations_request_deadline):
                status = self._post(url, secret, message_id, body)
        except UnsafeUrl as exc:
            error = exc.why
        except eventlet.Timeout:
            error = "timed out"
        except requests.exceptions.SSLError:
            error = "TLS handshake or certificate failed"
        except requests.exceptions.Timeout:
            error = "timed out"
        except requests.exceptions.ConnectionError:
            error = "could not connect"
        except requests.RequestException as exc:
            error = type(exc).__name__
        if status is not None and not 200 <= status < 300:
            error = f"answered {status}"
        duration = int((time.monotonic() - started) * 1000)
        return Outcome(status, duration, error[:MAX_ERROR] if error else None)

    def _post(self, url, secret, message_id, body):
        headers = {
            **signing.headers(secret, message_id, body),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        response = self.session.post(
            url,
            data=body,
            headers=headers,
            timeout=(
                self.settings.integrations_connect_timeout,
                self.settings.integrations_read_timeout,
            ),
            allow_redirects=False,
            verify=self.settings.ca_bundle,
            stream=True,
        )
        try:
            # read a little of the answer (it is not kept): enough to finish the exchange
            for _ in response.iter_content(MAX_RESPONSE_BYTES):
                break
        finally:
            response.close()
        return response.status_code

    def close(self):
        self.session.close()
