"""Prometheus metrics shared by every service process."""

import prometheus_client

HTTP_REQUESTS = prometheus_client.Counter(
    "dzdesk_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = prometheus_client.Histogram(
    "dzdesk_http_request_seconds", "HTTP request latency", ["service", "route"]
)
EVENTS_PUBLISHED = prometheus_client.Counter(
    "dzdesk_relay_events_published_total", "Events published by the outbox relay", ["service"]
)
EVENTS_HANDLED = prometheus_client.Counter(
    "dzdesk_events_handled_total", "Events consumed", ["service", "consumer", "outcome"]
)
CONFLICT_RETRIES = prometheus_client.Counter(
    "dzdesk_conflict_retries_total",
    "Units of work run again after losing a race",
    ["service", "entrypoint"],
)

RPC_REFUSED = prometheus_client.Counter(
    "dzdesk_rpc_refused_total",
    "RPC requests refused for their caller (a broker user)",
    ["service", "rpc", "caller"],
)

EVENTS_REFUSED = prometheus_client.Counter(
    "dzdesk_events_refused_total",
    "Events dead-lettered: not from the service they name",
    ["service", "sender"],
)

DEPENDENCY_UP = prometheus_client.Gauge(
    "dzdesk_dependency_up",
    "1 when the last readiness check reached the dependency",
    ["service", "dependency"],
)


def exposition():
    return prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST
