"""Dead letters and retries carry an expiration: a failed event with personal data does not stay in
the broker."""

import uuid

import requests
from kombu import Connection

from shared.envelope import Envelope
from tests.support import amqp
from tests.support.amqp import queue_depth
from tests.support.probe import EchoService, ProbeService
from tests.support.waiting import wait_until

QUEUE = "evt-probe-note_added--probe.handle_probe_note_added"
FOURTEEN_DAYS_MS = 14 * 86400 * 1000


def _start_probe(container_factory, service_config, **overrides):
    cfg, _ = service_config("probe", **overrides)
    container_factory(EchoService, cfg).start()
    container_factory(ProbeService, cfg).start()
    return cfg


def _publish_failing_note(amqp_uri):
    body = (
        Envelope.new(
            "probe.note_added",
            str(uuid.uuid4()),
            "poison",
            {"text": "x", "fail": True},
            actor={"system": "test"},
        )
        .with_version(1)
        .to_dict()
    )
    amqp.publish(
        amqp_uri, [body], exchange_of=lambda _: "probe", routing_key_of=lambda _: "note_added"
    )


def _dead_letters(cfg):
    """How many events this process has dead-lettered (the metric is per process, not per test)."""
    metrics = requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("dzdesk_events_handled_total") and 'outcome="dead_lettered"' in line
    )


def test_a_dead_letter_carries_a_fourteen_day_expiration_by_default(
    container_factory, service_config
):
    cfg = _start_probe(container_factory, service_config, EVENT_MAX_ATTEMPTS=1)
    _publish_failing_note(cfg["AMQP_URI"])

    with Connection(cfg["AMQP_URI"]) as connection:
        channel = connection.default_channel
        message = wait_until(
            lambda: channel.basic_get(f"{QUEUE}.dlq", no_ack=True),
            15,
            "the note to be dead-lettered",
        )

    assert message.properties["expiration"] == str(FOURTEEN_DAYS_MS)


def test_a_dead_letter_leaves_its_queue_once_its_configured_ttl_has_passed(
    container_factory, service_config
):
    cfg = _start_probe(
        container_factory,
        service_config,
        EVENT_MAX_ATTEMPTS=1,
        EVENT_DEAD_LETTER_TTL_DAYS=1 / 86400,
    )
    before = _dead_letters(cfg)
    _publish_failing_note(cfg["AMQP_URI"])
    wait_until(lambda: _dead_letters(cfg) > before, 15, "the note to be dead-lettered")

    wait_until(
        lambda: queue_depth(cfg["AMQP_URI"], f"{QUEUE}.dlq") == 0, 30, "the dead letter to expire"
    )


def test_every_retry_carries_an_expiration_that_returns_it_within_a_minute(
    container_factory, service_config
):
    cfg = _start_probe(
        container_factory, service_config, EVENT_MAX_ATTEMPTS=3, EVENT_RETRY_BACKOFF_MS=60_000
    )
    _publish_failing_note(cfg["AMQP_URI"])

    with Connection(cfg["AMQP_URI"]) as connection:
        channel = connection.default_channel
        message = wait_until(
            lambda: channel.basic_get(f"{QUEUE}.backoff", no_ack=True),
            15,
            "the note to wait for its retry",
        )

    assert 0 < int(message.properties["expiration"]) <= 60_000


def test_side_queues_declared_by_an_earlier_release_are_taken_over_without_a_precondition_failure(
    container_factory, service_config
):
    # The queues as a deployment before the TTL declared them: the TTL must not need other
    # arguments, or every existing deployment's redeclaration would fail (PRECONDITION_FAILED).
    cfg, _ = service_config("probe", EVENT_MAX_ATTEMPTS=1)
    with Connection(cfg["AMQP_URI"]) as connection:
        channel = connection.default_channel
        channel.queue_declare(
            f"{QUEUE}.retry",
            durable=True,
            auto_delete=False,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": QUEUE},
        )
        channel.queue_declare(
            f"{QUEUE}.dlq", durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
        )
    container_factory(EchoService, cfg).start()
    container_factory(ProbeService, cfg).start()
    _publish_failing_note(cfg["AMQP_URI"])

    with Connection(cfg["AMQP_URI"]) as connection:
        channel = connection.default_channel
        message = wait_until(
            lambda: channel.basic_get(f"{QUEUE}.dlq", no_ack=True),
            15,
            "the note to be dead-lettered",
        )

    assert message.properties["expiration"] == str(FOURTEEN_DAYS_MS)
