"""The probes and /metrics answer while every worker of the pool is busy (issue 14, point 4)."""

import time

import eventlet
import pytest
import requests

from tests.support.probe import EchoService, ProbeService
from tests.support.waiting import wait_until

WORKERS = 2


@pytest.fixture
def busy(container_factory, service_config):
    """A service with two workers, both held by slow requests (pg_sleep) for the test."""
    cfg, _ = service_config("probe", max_workers=WORKERS)
    container_factory(EchoService, cfg).start()
    container = container_factory(ProbeService, cfg)
    container.start()
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    wait_until(lambda: requests.get(f"{base}/health/ready", timeout=2).status_code == 200)
    slow = [
        eventlet.spawn(requests.get, f"{base}/v1/probe/sleep/4.0", timeout=30)
        for _ in range(WORKERS)
    ]
    wait_until(lambda: len(container._worker_threads) == WORKERS)
    yield base, container
    for request in slow:
        assert request.wait().status_code == 200


def timed_get(url):
    started = time.perf_counter()
    response = requests.get(url, timeout=5)
    return response, time.perf_counter() - started


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
def test_a_probe_answers_within_100_ms_while_every_worker_is_busy(busy, path):
    base, container = busy
    requests.get(f"{base}{path}", timeout=5)  # the first call of a connection pays its set-up

    response, took = timed_get(f"{base}{path}")

    assert len(container._worker_threads) == WORKERS  # still busy: no worker served it
    assert response.status_code == 200
    assert took < 0.1, f"{path} took {took * 1000:.0f} ms"


def test_readiness_keeps_its_body_while_the_workers_are_busy(busy):
    base, _ = busy

    body = requests.get(f"{base}/health/ready", timeout=5).json()

    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database:db", "broker"}


def test_a_request_for_a_worker_still_waits_for_one(busy):
    base, _ = busy

    # the pool's limit still holds for everything else: this one waits for a slow one to end
    _, took = timed_get(f"{base}/openapi.json")

    assert took > 1
