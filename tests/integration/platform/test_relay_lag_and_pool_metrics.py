"""The relay's lag and the connection pools' gauges move with what PostgreSQL and RabbitMQ do:
lag while the broker cannot be reached and while a backlog drains, 0 once caught up; pool
gauges on /metrics while a request holds a connection and while callers queue for one."""

import datetime
import time
import uuid

import eventlet
import prometheus_client
import pytest
import requests
from nameko.testing.utils import find_free_port
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import ConnectionPool

from shared import eventstore, metrics
from shared.envelope import Envelope, utcnow
from shared.relay import Relay
from tests.integration.platform.test_outbox_relay import relay_all, writer
from tests.support.probe import ProbeService
from tests.support.waiting import wait_until


@pytest.fixture
def db(make_database):
    return make_database("probe")


def lag(service="probe"):
    return prometheus_client.REGISTRY.get_sample_value(
        "dzdesk_relay_lag_seconds", {"service": service}
    )


def append_aged(url, tenant, *ages):
    """One event per age (seconds before now), each in a stream of its own, committed."""
    with writer(url, tenant) as conn:
        for n, age in enumerate(ages):
            occurred = utcnow() - datetime.timedelta(seconds=age)
            envelope = Envelope.new(
                "probe.note_added",
                tenant,
                f"aged-{n}",
                {"n": n},
                actor={"system": "t"},
                occurred_at=occurred,
            )
            eventstore.append(conn, envelope.stream_id, 0, [envelope])


def polled(relay, until, timeout=10):
    """Run the relay until `until()` holds (the horizon waits for other databases' work)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the relay never got there"
        try:
            relay.run_once()
        except Exception:  # the unreachable broker: the poll read the batch before it failed
            relay.close()
            relay.acquire()
        time.sleep(0.02)


def test_the_lag_grows_while_the_broker_is_unreachable_and_is_0_once_published(db, rabbit_config):
    tenant = str(uuid.uuid4())
    append_aged(db["app"], tenant, 90, 30)
    unreachable = f"amqp://guest:guest@127.0.0.1:{find_free_port()}//"
    stuck = Relay("probe", db["system"], unreachable)
    assert stuck.acquire()
    polled(stuck, lambda: (lag() or 0) >= 90)
    first = lag()
    time.sleep(0.3)
    assert lag() >= first + 0.25  # read at scrape time: it grows while nothing is published
    assert lag() < 120
    stuck.close()
    relay = Relay("probe", db["system"], rabbit_config["AMQP_URI"])
    wait_until(relay.acquire, timeout=10, what="the lock of the closed relay")
    assert relay_all(relay, expect=2) == 2
    assert lag() == 0
    relay.close()


def test_the_lag_is_the_age_of_the_next_batch_until_the_backlog_is_drained(db, rabbit_config):
    tenant = str(uuid.uuid4())
    append_aged(db["app"], tenant, 300, 200, 100)
    relay = Relay("probe", db["system"], rabbit_config["AMQP_URI"], batch_size=1)
    assert relay.acquire()
    wait_until(relay.run_once, timeout=10, what="the first event")
    assert 200 <= lag() < 230  # the second event waits, read while the first was confirmed
    assert relay.run_once() == 1
    assert 100 <= lag() < 130
    assert relay_all(relay) == 1
    assert lag() == 0
    relay.close()


def test_a_standby_relay_reports_no_lag_of_its_own(db, rabbit_config):
    tenant = str(uuid.uuid4())
    append_aged(db["app"], tenant, 60)
    active = Relay("probe", db["system"], rabbit_config["AMQP_URI"])
    standby = Relay("probe", db["system"], rabbit_config["AMQP_URI"])
    standby.oldest_unpublished = time.time() - 600  # it was active once, before a reconnect
    assert active.acquire()
    assert not standby.acquire()
    assert standby.lag() == 0
    active.close()
    standby.close()


def pool_samples(base):
    """{(metric, pool): value} of this service's pool gauges, as /metrics answers them."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return {
        (sample.name, sample.labels["pool"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("dzdesk_db_pool_")
        for sample in family.samples
        if sample.labels.get("service") == "probe"
    }


def test_the_pool_gauges_answer_on_metrics_and_count_a_connection_in_use(
    container_factory, service_config
):
    cfg, _ = service_config("probe")
    container_factory(ProbeService, cfg).start()
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    idle = wait_until(
        lambda: (found := pool_samples(base)).get(("dzdesk_db_pool_size", "db")) and found,
        what="the pool's first connection",
    )
    assert idle[("dzdesk_db_pool_requests_waiting", "db")] == 0
    sleeper = eventlet.spawn(requests.get, f"{base}/v1/probe/sleep/1.5", timeout=10)

    def busy():
        found = pool_samples(base)
        in_use = found[("dzdesk_db_pool_size", "db")] - found[("dzdesk_db_pool_available", "db")]
        return in_use >= 1

    wait_until(busy, timeout=5, what="the sleeping request's connection to show as in use")
    assert sleeper.wait().status_code == 200
    wait_until(lambda: not busy(), timeout=5, what="the connection back in the pool")


def test_callers_waiting_for_a_connection_are_counted(db):
    pool = ConnectionPool(db["app"], min_size=1, max_size=1, open=False)
    metrics.POOLS.register("probe", "waiting_test", pool)
    pool.open(wait=True)

    def sample(name):
        return prometheus_client.REGISTRY.get_sample_value(
            name, {"service": "probe", "pool": "waiting_test"}
        )

    try:
        held = pool.getconn()
        assert sample("dzdesk_db_pool_available") == 0
        waiter = eventlet.spawn(lambda: pool.putconn(pool.getconn(timeout=10)))
        wait_until(
            lambda: sample("dzdesk_db_pool_requests_waiting") == 1, timeout=5, what="the waiter"
        )
        pool.putconn(held)
        waiter.wait()
        assert sample("dzdesk_db_pool_requests_waiting") == 0
        assert sample("dzdesk_db_pool_size") == 1 and sample("dzdesk_db_pool_available") == 1
    finally:
        pool.close()
        metrics.POOLS.unregister("probe", "waiting_test", pool)
    assert sample("dzdesk_db_pool_size") is None  # unregistered: no series left behind
