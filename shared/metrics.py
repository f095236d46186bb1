"""Prometheus metrics shared by every service process."""

import weakref

import prometheus_client
from prometheus_client.core import GaugeMetricFamily

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

# Set by shared/relay.py at scrape time from what its last poll read, so it goes on growing
# while the relay cannot reach the broker or the database.
RELAY_LAG = prometheus_client.Gauge(
    "dzdesk_relay_lag_seconds",
    "Age of the oldest stored event the outbox relay has not published (0 when caught up)",
    ["service"],
)

PRIVACY_REQUEST_DEADLINE = prometheus_client.Gauge(
    "dzdesk_privacy_request_deadline_seconds",
    "Seconds until the earliest deadline of an active request of this type (negative past it)",
    ["service", "type"],
)

AUDIT_VERIFICATIONS = prometheus_client.Counter(
    "dzdesk_audit_verifications_total",
    "Audit chain verifications, by outcome (ok, failed)",
    ["service", "outcome"],
)

SLA_BREACHES = prometheus_client.Counter(
    "dzdesk_sla_breaches_total",
    "SLA breaches recorded, by SLA (first_response, resolution)",
    ["service", "sla"],
)


class PoolCollector:
    """The psycopg pools of this process, read at scrape time (`get_stats()`: no lock taken,
    nothing cached). Pools register under their service and the name of the dependency that
    opened them; a pool that is garbage collected drops out by itself."""

    def __init__(self):
        self._pools = weakref.WeakValueDictionary()  # (service, pool name) -> pool

    def register(self, service, name, pool):
        self._pools[(service, name)] = pool

    def unregister(self, service, name, pool):
        if self._pools.get((service, name)) is pool:
            self._pools.pop((service, name), None)

    def collect(self):
        labels = ["service", "pool"]
        families = {  # the pool statistic -> the gauge that shows it
            "pool_size": GaugeMetricFamily(
                "dzdesk_db_pool_size", "Connections the pool holds open", labels=labels
            ),
            "pool_available": GaugeMetricFamily(
                "dzdesk_db_pool_available", "Idle connections in the pool", labels=labels
            ),
            "requests_waiting": GaugeMetricFamily(
                "dzdesk_db_pool_requests_waiting", "Callers waiting for a connection", labels=labels
            ),
        }
        for key, pool in sorted(self._pools.items(), key=lambda item: item[0]):
            stats = pool.get_stats()
            for stat, family in families.items():
                family.add_metric(key, stats.get(stat, 0))
        return list(families.values())


POOLS = PoolCollector()
prometheus_client.REGISTRY.register(POOLS)


def exposition():
    return prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST
