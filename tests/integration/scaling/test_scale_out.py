"""Scale-out on the existing engines: processes of one service compete on one quorum queue,
and faults while events flow lose and duplicate nothing."""

import re
import time
import uuid

import psycopg
import pytest
import requests
from nameko.testing.utils import find_free_port

from shared.envelope import Envelope
from tests.support import amqp, run_service
from tests.support.waiting import wait_until

PROBE = "tests.support.probe:ProbeService"
QUEUE = "evt-probe-note_added--probe.handle_probe_note_added"


def running_probe(service_config, container_factory, **overrides):
    """The probe service (and the echo service it calls) in this process; (config, urls)."""
    from tests.support.probe import EchoService, ProbeService

    cfg, urls = service_config("probe", **overrides)
    container_factory(EchoService, cfg).start()
    container_factory(ProbeService, cfg).start()
    return cfg, urls


def add_notes(cfg, first, last, pause=0.0):
    """Notes n in [first, last) through HTTP, each appended in its own stream."""
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}/v1/probe/{uuid.uuid4()}/streams"
    for n in range(first, last):
        response = requests.post(
            f"{base}/s{n}", json={"text": "x"}, headers={"If-Match": '"0"'}, timeout=10
        )
        assert response.status_code == 201, response.text
        time.sleep(pause)


def notes(tenant, count):
    return [
        Envelope.new("probe.note_added", tenant, f"s{n}", {"text": "x"}, actor={"system": "test"})
        .with_version(1)
        .to_dict()
        for n in range(count)
    ]


def seen(urls):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*), count(DISTINCT envelope->'data'->>'of')"
            " FROM events WHERE event_type = 'probe.note_seen'"
        ).fetchone()


def handled_by(cfg):
    metrics = requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    match = re.search(
        r'dzdesk_events_handled_total\{consumer="handle_probe_note_added",'
        r'outcome="ok",service="probe"\} ([0-9.]+)',
        metrics,
    )
    return float(match.group(1)) if match else 0.0


def settle(rabbit_manager, cfg, acked):
    """Waits until every delivery of the probe's queue (and its retries) is acknowledged and
    none is left: from then on no duplicate effect can appear."""
    wait_until(
        lambda: amqp.settled(rabbit_manager, cfg["vhost"], [QUEUE, f"{QUEUE}.backoff"], acked),
        what="the probe's event queues to settle",
    )


def test_two_processes_of_a_service_split_the_events_and_each_takes_effect_once(
    service_config, container_factory, rabbit_manager
):
    from tests.support.probe import EchoService

    cfg, urls = service_config("probe")
    container_factory(EchoService, cfg).start()
    second_cfg = {**cfg, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
    processes = [
        run_service.start_process(PROBE, c, consumed_queue=QUEUE) for c in (cfg, second_cfg)
    ]
    try:
        amqp.publish(cfg["AMQP_URI"], notes(str(uuid.uuid4()), 300))
        wait_until(lambda: seen(urls)[0] >= 300)
        settle(rabbit_manager, cfg, acked=300)
        assert seen(urls) == (300, 300)
        split = [handled_by(c) for c in (cfg, second_cfg)]
        assert sum(split) == 300 and min(split) > 0, split
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def test_database_connections_dropped_while_events_flow_lose_and_duplicate_nothing(
    service_config, container_factory, rabbit_manager
):
    cfg, urls = running_probe(service_config, container_factory)
    tenant = str(uuid.uuid4())
    amqp.publish(cfg["AMQP_URI"], notes(tenant, 150))
    terminated = 0
    with psycopg.connect(urls["admin"], autocommit=True) as admin:
        for _ in range(5):  # cut every connection of the service, mid-transaction or not
            terminated += len(
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
            )
            time.sleep(0.2)
    assert terminated > 0, "no connection of the service was cut: no fault happened"
    amqp.publish(cfg["AMQP_URI"], notes(tenant, 150))
    wait_until(lambda: seen(urls)[0] >= 300)
    settle(rabbit_manager, cfg, acked=300)
    assert seen(urls) == (300, 300)


def test_broker_connections_dropped_while_events_flow_lose_and_duplicate_nothing(
    service_config, container_factory, rabbit_manager
):
    """What a broker restart does to a service: every connection drops, relay and consumers
    reconnect; events committed meanwhile wait in the outbox."""
    cfg, urls = running_probe(service_config, container_factory)
    add_notes(cfg, 0, 100)
    amqp.cut_connections(rabbit_manager, cfg["vhost"])
    add_notes(cfg, 100, 200)
    wait_until(lambda: seen(urls)[0] >= 200)
    settle(rabbit_manager, cfg, acked=200)
    assert seen(urls) == (200, 200)


def unpublished(urls, event_type="probe.note_added"):
    """Committed events of that type the relay has yet to see confirmed by the broker."""
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM events e, relay_checkpoint c WHERE c.name = 'outbox'"
            " AND (e.txid, e.position) > (c.txid, c.position) AND e.event_type = %s",
            (event_type,),
        ).fetchone()[0]


@pytest.mark.slow
def test_a_broker_restart_while_events_flow_loses_and_duplicates_nothing(
    own_broker, service_config, container_factory
):
    """The real thing on a RabbitMQ node of the test's own: the node stops (its process
    exits), writes go on and commit to the outbox meanwhile, the node comes back with its
    quorum queue, and the relay and consumers reconnect. Nothing lost, nothing doubled."""
    node = own_broker
    cfg, urls = running_probe(service_config, container_factory, AMQP_URI=node.url())
    add_notes(cfg, 0, 50)
    wait_until(lambda: seen(urls)[0] >= 50)

    node.stop()
    assert node.port_closed(), "the broker node is still listening: no fault happened"
    add_notes(cfg, 50, 150, pause=0.01)  # each answers 201 while the broker is away
    assert node.port_closed(), "the node came back during the writes"
    assert unpublished(urls) == 100, "the writes made during the outage are not in the outbox"
    assert seen(urls)[0] == 50  # nothing can have been consumed without a broker

    node.start()
    node.wait_started()
    wait_until(lambda: seen(urls)[0] >= 150, timeout=120)
    # the observable end: everything relayed and the queue empty (none unacknowledged),
    # so no delivery is left that could still take effect twice
    wait_until(lambda: unpublished(urls) == 0 and node.queue_messages().get(QUEUE) == 0, timeout=60)
    assert seen(urls) == (150, 150)
