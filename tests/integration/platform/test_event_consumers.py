import os
import uuid

import psycopg
import pytest
import requests
from kombu import Connection
from nameko.testing.services import entrypoint_waiter

from shared.envelope import Envelope
from tests.support import amqp, run_service
from tests.support.amqp import drain, queue_depth
from tests.support.probe import EchoService, ProbeService
from tests.support.waiting import wait_until

QUEUE = "evt-probe-note_added--probe.handle_probe_note_added"


@pytest.fixture
def running(container_factory, service_config):
    cfg, urls = service_config("probe")
    echo = container_factory(EchoService, cfg)
    echo.start()
    service = container_factory(ProbeService, cfg)
    service.start()
    return cfg, urls, service


def publish(amqp_uri, body):
    amqp.publish(
        amqp_uri, [body], exchange_of=lambda _: "probe", routing_key_of=lambda _: "note_added"
    )


def seen_count(urls, stream):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM events WHERE stream_id = %s", (f"seen-{stream}",)
        ).fetchone()[0]


def note(tenant, stream, **data):
    return (
        Envelope.new(
            "probe.note_added", tenant, stream, {"text": "x", **data}, actor={"system": "test"}
        )
        .with_version(1)
        .to_dict()
    )


def test_a_redelivered_event_takes_effect_once(running):
    cfg, urls, service = running
    body = note(str(uuid.uuid4()), "dup")
    for _ in range(2):
        with entrypoint_waiter(service, "handle_probe_note_added", timeout=10):
            publish(cfg["AMQP_URI"], body)
    assert seen_count(urls, "dup") == 1


def start_process(cfg):
    return run_service.start_process("tests.support.probe:ProbeService", cfg, consumed_queue=QUEUE)


def test_an_event_whose_consumer_crashed_before_ack_is_handled_once_after_restart(
    container_factory, service_config, tmp_path, rabbit_manager
):
    cfg, urls = service_config("probe")
    container_factory(EchoService, cfg).start()
    hold = tmp_path / "hold"
    hold.touch()
    first = start_process(cfg)
    try:
        publish(cfg["AMQP_URI"], note(str(uuid.uuid4()), "crash", block=str(hold)))
        wait_until(lambda: os.path.exists(f"{hold}.started"))  # inside, before the commit
        first.kill()  # SIGKILL: no commit, no ack; the broker redelivers
        first.wait()
        hold.unlink()
        assert seen_count(urls, "crash") == 0
        second = start_process(cfg)
        try:
            wait_until(lambda: seen_count(urls, "crash") == 1)
            # the redelivery acknowledged and nothing left to deliver, retries included
            wait_until(
                lambda: amqp.settled(
                    rabbit_manager, cfg["vhost"], [QUEUE, f"{QUEUE}.backoff"], acked=1
                ),
                what="the event queues to settle",
            )
            assert seen_count(urls, "crash") == 1
        finally:
            second.terminate()
            second.wait()
    finally:
        if first.poll() is None:
            first.kill()


def test_a_failing_handler_is_retried_then_dead_lettered_with_the_error(running):
    cfg, urls, service = running
    body = note(str(uuid.uuid4()), "poison", fail=True)
    publish(cfg["AMQP_URI"], body)
    dead = drain(cfg["AMQP_URI"], f"{QUEUE}.dlq", expect=1, timeout=15)
    assert len(dead) == 1
    dead_body, headers = dead[0]
    assert dead_body["event_id"] == body["event_id"]
    assert headers["x-attempts"] == 5
    assert "the note asked to fail" in headers["x-last-error"]
    assert seen_count(urls, "poison") == 0
    assert queue_depth(cfg["AMQP_URI"], QUEUE) == 0


def test_an_invalid_envelope_goes_straight_to_the_dead_letter_queue(running):
    cfg, urls, service = running
    publish(cfg["AMQP_URI"], {"event_type": "probe.note_added", "garbage": True})
    dead = drain(cfg["AMQP_URI"], f"{QUEUE}.dlq", expect=1, timeout=10)
    assert len(dead) == 1
    assert dead[0][1]["x-attempts"] == 1
    assert "invalid envelope" in dead[0][1]["x-last-error"]


def test_the_correlation_id_travels_from_http_through_events_and_rpc(running):
    cfg, urls, service = running
    EchoService.calls.clear()
    tenant = str(uuid.uuid4())
    with entrypoint_waiter(service, "handle_probe_note_added", timeout=10):
        response = requests.post(
            f"http://{cfg['WEB_SERVER_ADDRESS']}/v1/probe/{tenant}/streams/corr",
            json={"text": "hello"},
            headers={"If-Match": '"0"', "X-Request-ID": "req-abcdef123"},
        )
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == "req-abcdef123"
    with psycopg.connect(urls["admin"]) as conn:
        rows = conn.execute("SELECT envelope FROM events ORDER BY position").fetchall()
    opened, seen = rows[0][0], rows[1][0]
    assert opened["correlation_id"] == seen["correlation_id"] == "req-abcdef123"
    assert seen["causation_id"] == opened["event_id"]
    assert EchoService.calls == [(opened["event_id"], "req-abcdef123")]


def test_consumer_queues_are_durable_quorum_queues(running):
    cfg, _, _ = running
    with Connection(cfg["AMQP_URI"]) as connection:
        channel = connection.default_channel
        # redeclaring with other arguments fails: the queue is a quorum queue
        with pytest.raises(Exception) as raised:
            channel.queue_declare(
                QUEUE, durable=True, passive=False, arguments={"x-queue-type": "classic"}
            )
    assert "PRECONDITION_FAILED" in str(raised.value) or "inequivalent" in str(raised.value)
