"""Prometheus metrics shared by every service process."""
import prometheus_client

HTTP_REQUESTS = prometheus_client.Counter(
    "dzdesk_http_requests_total", "HTTP requests answered",
    ["service", "method", "route", "status"])
HTTP_LATENCY = prometheus_client.Histogram(
    "dzdesk_http_request_seconds", "HTTP request latency", ["service", "route"])
EVENTS_PUBLISHED = prometheus_client.Counter(
    "dzdesk_relay_events_published_total", "Events published by the outbox relay", ["service"])
EVENTS_HANDLED = prometheus_client.Counter(
    "dzdesk_events_handled_total", "Events consumed", ["service", "consumer", "outcome"])

DEPENDENCY_UP = prometheus_client.Gauge(
    "dzdesk_dependency_up", "1 when the last readiness check reached the dependency",
    ["service", "dependency"])


def exposition():
    return prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST
