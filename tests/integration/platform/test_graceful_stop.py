"""SIGTERM stops every service in seconds, as `dzdesk-service <name>` runs it, losing no message."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from shared import config
from tests.integration.platform.test_event_consumers import QUEUE, note, publish, seen_count
from tests.support import amqp
from tests.support.probe import EchoService
from tests.support.waiting import wait_until

STOP_WITHIN = 10  # seconds; the manifests' grace period leaves room above this


def launch(cfg, urls, name, **extra):
    """`dzdesk-service <name>` with the environment an operator would give it."""
    host, port = cfg["WEB_SERVER_ADDRESS"].split(":")
    env = {key: str(value) for key, value in cfg.items() if key.startswith(config.SETTING_PREFIXES)}
    env.update(
        {
            "PATH": os.environ["PATH"],
            "AMQP_URI": cfg["AMQP_URI"],
            "HOST": host,
            "PORT": port,
            "LOG_LEVEL": "warning",
            f"{name.upper()}_DATABASE_URL": urls["app"],
            f"{name.upper()}_SYSTEM_DATABASE_URL": urls["system"],
            **extra,
        }
    )
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "dzdesk-service"), name], env=env
    )

    def ready():
        assert process.poll() is None, f"{name} exited with {process.returncode}"
        try:
            return requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/health/ready", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=60, what=f"{name} to be ready")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def stopped(process):
    """SIGTERM, then the seconds until the process exited and its exit code."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired as still_running:
        process.kill()
        process.wait()
        raise AssertionError("still running 60 s after SIGTERM") from still_running
    return time.monotonic() - started, code


@pytest.mark.parametrize("name", config.SERVICES)
def test_a_service_exits_cleanly_within_seconds_of_sigterm(name, service_config):
    cfg, urls = service_config(name)
    process = launch(cfg, urls, name)

    seconds, code = stopped(process)

    print(f"{name} stopped in {seconds:.2f} s")
    assert code == 0
    assert seconds < STOP_WITHIN


PROBE = "tests.support.probe:ProbeService"


@pytest.fixture
def probe(container_factory, service_config, tmp_path):
    """(config, urls, hold file, start) with the echo service the probe's handler calls;
    start(cfg, stderr) runs the probe as `dzdesk-service` runs a service, logging at INFO."""
    cfg, urls = service_config("probe")
    container_factory(EchoService, cfg).start()
    hold = tmp_path / "hold"
    hold.touch()

    def start(cfg=cfg, stderr=None):
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_service", PROBE, json.dumps(cfg)],
            stderr=stderr,
            env={**os.environ, "LOG_LEVEL": "INFO"},
        )
        wait_until(
            lambda: process.poll() is None and amqp.has_consumer(cfg["AMQP_URI"], QUEUE),
            what="the probe to consume",
        )
        return process

    return cfg, urls, hold, start


def test_a_message_in_flight_at_sigterm_is_finished_and_acknowledged_before_the_exit(
    probe, tmp_path
):
    cfg, urls, hold, start = probe
    log = tmp_path / "probe.log"
    with log.open("w") as stderr:
        process = start(stderr=stderr)
    publish(cfg["AMQP_URI"], note(str(uuid.uuid4()), "finish", block=str(hold)))
    wait_until(lambda: os.path.exists(f"{hold}.started"), what="the handler to start")

    process.send_signal(signal.SIGTERM)
    wait_until(lambda: "service stopping" in log.read_text(), what="the stop to begin")
    hold.unlink()  # the worker may finish now, after the stop began

    assert process.wait(timeout=STOP_WITHIN) == 0
    assert "did not stop in time" not in log.read_text()
    assert seen_count(urls, "finish") == 1
    assert amqp.queue_depth(cfg["AMQP_URI"], QUEUE) == 0


def test_a_message_still_running_at_the_deadline_is_handed_back_and_handled_after_restart(probe):
    cfg, urls, hold, start = probe
    process = start(dict(cfg, STOP_TIMEOUT_SECONDS=1))
    publish(cfg["AMQP_URI"], note(str(uuid.uuid4()), "hand-back", block=str(hold)))
    wait_until(lambda: os.path.exists(f"{hold}.started"), what="the handler to start")

    seconds, code = stopped(process)

    assert (code, seen_count(urls, "hand-back")) == (0, 0)
    assert seconds < STOP_WITHIN
    hold.unlink()
    again = start()
    try:
        wait_until(lambda: seen_count(urls, "hand-back") == 1, what="the redelivered event")
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
