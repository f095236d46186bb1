import time
import uuid

import psycopg
import pytest

from shared import eventstore
from shared.envelope import Envelope
from shared.relay import Relay
from tests.support.amqp import bind_queue, drain


@pytest.fixture
def db(make_database):
    return make_database("probe")


@pytest.fixture
def amqp_uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


def writer(url, tenant):
    conn = psycopg.connect(url)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
    return conn


def append(conn, tenant, stream, n):
    envelope = Envelope.new("probe.note_added", tenant, stream, {"n": n}, actor={"system": "t"})
    eventstore.append(conn, stream, eventstore.current_version(conn, tenant, stream), [envelope])
    return envelope.event_id


def relay_all(relay, expect=0, timeout=10):
    """Run the relay until `expect` events went out (the horizon also waits for
    transactions of other databases of the cluster, e.g. CREATE DATABASE), then drain."""
    assert relay.acquire()
    total, deadline = 0, time.monotonic() + timeout
    while total < expect and time.monotonic() < deadline:
        total += relay.run_once()
        time.sleep(0.01)
    while published := relay.run_once():
        total += published
    return total


def test_a_late_committing_lower_position_is_not_skipped(db, amqp_uri):
    tenant = str(uuid.uuid4())
    queue = bind_queue(amqp_uri, "probe")
    early, late = writer(db["app"], tenant), writer(db["app"], tenant)
    first = append(early, tenant, "a", 1)  # lower position, commits last
    second = append(late, tenant, "b", 2)
    late.commit()
    relay = Relay("probe", db["system"], amqp_uri)
    assert relay_all(relay) == 0  # held back: an older transaction is still running
    early.commit()
    assert relay_all(relay, expect=2) == 2
    relay.close()
    ids = [body["event_id"] for body, _ in drain(amqp_uri, queue, expect=2)]
    assert ids == [first, second]
    early.close()
    late.close()


def test_events_are_published_in_stream_order_under_their_routing_key(db, amqp_uri):
    tenant = str(uuid.uuid4())
    queue = bind_queue(amqp_uri, "probe", routing_key="note_added")
    with writer(db["app"], tenant) as conn:
        ids = [append(conn, tenant, "s", n) for n in range(5)]
    relay = Relay("probe", db["system"], amqp_uri)
    assert relay_all(relay, expect=5) == 5
    relay.close()
    received = drain(amqp_uri, queue, expect=5)
    assert [body["event_id"] for body, _ in received] == ids
    assert [body["stream_version"] for body, _ in received] == [1, 2, 3, 4, 5]


def test_a_restarted_relay_resumes_from_its_checkpoint(db, amqp_uri):
    tenant = str(uuid.uuid4())
    queue = bind_queue(amqp_uri, "probe")
    with writer(db["app"], tenant) as conn:
        ids = [append(conn, tenant, f"s{n % 3}", n) for n in range(25)]
    relay = Relay("probe", db["system"], amqp_uri, batch_size=10)
    assert relay.acquire()
    deadline = time.monotonic() + 10
    while (first_batch := relay.run_once()) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first_batch == 10
    relay.close()  # a restart
    restarted = Relay("probe", db["system"], amqp_uri, batch_size=10)
    assert relay_all(restarted, expect=15) == 15
    restarted.close()
    assert sorted(body["event_id"] for body, _ in drain(amqp_uri, queue, expect=25)) == sorted(ids)


def test_only_one_relay_per_database_is_active(db, amqp_uri):
    active = Relay("probe", db["system"], amqp_uri)
    standby = Relay("probe", db["system"], amqp_uri)
    assert active.acquire()
    assert not standby.acquire()
    active.close()
    # the server lets go of the lock when the closed session's backend has exited
    deadline = time.monotonic() + 10
    while not standby.acquire():
        assert time.monotonic() < deadline, "the standby never took over"
        time.sleep(0.05)
    standby.close()


def test_an_event_larger_than_a_frame_arrives_whole(db, amqp_uri):
    tenant = str(uuid.uuid4())
    queue = bind_queue(amqp_uri, "probe")
    big = "x" * 400_000  # several AMQP body frames at the default frame_max of 128 KiB
    with writer(db["app"], tenant) as conn:
        envelope = Envelope.new(
            "probe.note_added", tenant, "big", {"text": big}, actor={"system": "t"}
        )
        eventstore.append(conn, "big", 0, [envelope])
    relay = Relay("probe", db["system"], amqp_uri)
    assert relay_all(relay, expect=1) == 1
    relay.close()
    ((body, _),) = drain(amqp_uri, queue, expect=1)
    assert body["data"]["text"] == big and body["event_id"] == envelope.event_id


def test_events_go_out_in_numeric_transaction_order_even_across_a_digit_boundary(db, amqp_uri):
    """txid 10 follows txid 9: an order by the text of the ids would put it first and, with
    a batch that ends between them, skip the other for good."""
    tenant = str(uuid.uuid4())
    queue = bind_queue(amqp_uri, "probe")
    ids = []
    with psycopg.connect(db["admin"]) as conn:  # the owner may write a historic txid
        for position_txid in ("9", "10", "11"):
            envelope = Envelope.new(
                "probe.note_added", tenant, f"s{position_txid}", {}, actor={"system": "t"}
            ).with_version(1)
            conn.execute(
                "INSERT INTO events (txid, tenant_id, stream_id, stream_version, event_id,"
                " event_type, envelope) VALUES (%s::xid8, %s, %s, 1, %s, %s, %s)",
                (
                    position_txid,
                    tenant,
                    envelope.stream_id,
                    envelope.event_id,
                    envelope.event_type,
                    psycopg.types.json.Jsonb(envelope.to_dict()),
                ),
            )
            ids.append(envelope.event_id)
    relay = Relay("probe", db["system"], amqp_uri, batch_size=1)
    assert relay_all(relay, expect=3) == 3
    relay.close()
    assert [body["event_id"] for body, _ in drain(amqp_uri, queue, expect=3)] == ids
