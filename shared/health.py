"""Liveness, readiness (database and broker), Prometheus metrics and OpenAPI for every service.

The probes and /metrics are answered by the web server itself, outside the container's worker
pool (`ProblemWebServer.direct`): a pod whose every worker is busy is still alive, says whether
it is ready and shows its metrics. Their entrypoints below stay for /openapi.json.
"""

from kombu import Connection
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared import environment, metrics, openapi
from shared.db import Database
from shared.web import HttpEntrypoint, http, json_response


class Readiness(DependencyProvider):
    """Checks what the service needs to do useful work: its databases and the broker.

    Only the databases decide readiness: without the broker, reads and writes for subjects
    with cached keys still work (the outbox holds the events), so a broker outage shows as
    "degraded" in the body and in `dzdesk_dependency_up` but keeps the process in rotation.
    """

    _openapi = None
    development_sign_in = None

    def setup(self):
        # every service refuses production with development sign-in, not only identity
        self.development_sign_in = environment.guard_development_sign_in(self.container.config)
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, HttpEntrypoint):
                entrypoint.server.direct.update(
                    {
                        "/health/live": lambda request: live(),
                        "/health/ready": lambda request: ready(self),
                        "/metrics": lambda request: metrics_response(),
                    }
                )
                break

    def get_dependency(self, worker_ctx):
        return self

    def check(self):
        checks = {}
        for provider in self.container.dependencies:
            if isinstance(provider, Database):
                checks[f"database:{provider.attr_name}"] = _outcome(
                    lambda provider=provider: _ping(provider)
                )
        checks["broker"] = _outcome(self._ping_broker)
        for name, outcome in checks.items():
            metrics.DEPENDENCY_UP.labels(self.container.service_name, name).set(outcome == "ok")
        ready = all(value == "ok" for name, value in checks.items() if name != "broker")
        return ready, checks

    def openapi(self):
        if self._openapi is None:
            entrypoints = [e for e in self.container.entrypoints if isinstance(e, HttpEntrypoint)]
            self._openapi = openapi.build(self.container.service_name, entrypoints)
        return self._openapi

    def _ping_broker(self):
        with Connection(self.container.config["AMQP_URI"], connect_timeout=1) as connection:
            # each listed node once, without kombu's back-off sleeps between them
            connection.ensure_connection(
                max_retries=max(len(connection.alt) - 1, 0), interval_start=0, interval_step=0
            )


def _ping(provider):
    with provider.pool.connection(timeout=2) as conn:
        conn.execute("SELECT 1")


def _outcome(check):
    try:
        check()
        return "ok"
    except Exception as exc:
        return f"failing: {type(exc).__name__}"


def live():
    return json_response({"status": "ok"})


def ready(readiness):
    """200 while the databases answer (the body says what else fails), 503 otherwise."""
    is_ready, checks = readiness.check()
    status = (
        "unavailable" if not is_ready else ("ok" if set(checks.values()) == {"ok"} else "degraded")
    )
    body = {"status": status, "checks": checks}
    if readiness.development_sign_in:
        body["development_sign_in"] = readiness.development_sign_in
    return json_response(body, status=200 if is_ready else 503)


def metrics_response():
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


class HealthMixin:
    """Mix into a service class to serve /health/live, /health/ready and /metrics (answered by
    the web server without a worker: Readiness.setup) and /openapi.json."""

    readiness = Readiness()

    @http("GET", "/health/live")
    def health_live(self, request):
        return live()

    @http("GET", "/health/ready")
    def health_ready(self, request):
        return ready(self.readiness)

    @http("GET", "/metrics")
    def metrics(self, request):
        return metrics_response()

    @http("GET", "/openapi.json")
    def openapi(self, request):
        """This service's OpenAPI document."""
        return self.readiness.openapi()
