"""Small helpers to look at what reached RabbitMQ in a test's vhost."""

import contextlib
import json
import time

from kombu import Connection, Exchange, Queue

from shared import broker


def as_user(amqp_uri, name):
    """The same broker and vhost, logged in as the broker user `name` (a service's, or the
    tests' own); other names keep the URI's own login (guest: an anonymous caller)."""
    passwords = broker.local_passwords(broker.SERVICES + ("probe",))
    return broker.with_user(amqp_uri, name, passwords[name]) if name in passwords else amqp_uri


def as_tool(amqp_uri):
    """The same vhost as guest: the tests' tooling looks at any queue, as a service may not."""
    return broker.with_user(amqp_uri, "guest", "guest")


@contextlib.contextmanager
def service_rpc(service, cfg, caller="probe", timeout=30):
    """A standalone proxy to `service`, calling as broker user `caller` (by default the
    tests' own, an operator: see DZDESK_RPC_OPERATORS), signed as the services sign."""
    from shared.rpc import ClusterRpcClient

    with ClusterRpcClient(
        {"AMQP_URI": as_user(cfg["AMQP_URI"], caller)}, timeout=timeout
    ) as cluster:
        yield getattr(cluster, service)


def confirming_connection(amqp_uri):
    """A connection whose publishes wait for the broker's confirm. Without confirms, quorum
    queues may drop what a connection published just before it closed."""
    return Connection(amqp_uri, transport_options={"confirm_publish": True})


def publish(
    amqp_uri,
    bodies,
    exchange_of=lambda body: body["event_type"].split(".", 1)[0],
    routing_key_of=lambda body: body["event_type"].split(".", 1)[1],
):
    """Publish envelopes (or any JSON bodies) as a relay does, each one confirmed, as the
    broker user of the service whose exchange it goes to (with it as `user_id`)."""
    connections = {}
    try:
        for body in bodies:
            owner = exchange_of(body)
            if owner not in connections:
                uri = as_user(amqp_uri, owner)
                connections[owner] = (confirming_connection(uri), broker.user_of(uri))
            connection, user = connections[owner]
            connection.Producer(serializer="json").publish(
                body,
                exchange=Exchange(f"{owner}.events", type="topic", durable=True),
                routing_key=routing_key_of(body),
                declare=[],
                delivery_mode=2,
                user_id=user,
            )
    finally:
        for connection, _ in connections.values():
            connection.release()


def bind_queue(amqp_uri, service, routing_key="#", name=None):
    """A durable queue bound to `<service>.events`, so the test sees what was published."""
    queue = Queue(
        name or f"test-{service}-{time.monotonic_ns()}",
        exchange=Exchange(f"{service}.events", type="topic", durable=True),
        routing_key=routing_key,
        durable=True,
    )
    with Connection(as_tool(amqp_uri)) as connection:
        queue(connection.default_channel).declare()
    return queue.name


def drain(amqp_uri, queue_name, expect=None, timeout=5.0):
    """(body, headers) of every message in the queue; waits until `expect` arrived."""
    received = []
    deadline = time.monotonic() + timeout
    with Connection(as_tool(amqp_uri)) as connection:
        channel = connection.default_channel
        while time.monotonic() < deadline:
            message = channel.basic_get(queue_name, no_ack=True)
            if message is None:
                if expect is None or len(received) >= expect:
                    break
                time.sleep(0.02)
                continue
            received.append((json.loads(message.body), dict(message.headers or {})))
    return received


def queue_depth(amqp_uri, queue_name):
    with Connection(as_tool(amqp_uri)) as connection:
        return (
            Queue(queue_name)(connection.default_channel).queue_declare(passive=True).message_count
        )


def settled(rabbit_manager, vhost, queues, acked):
    """True once every queue holds nothing, ready or unacknowledged, in a sample of the
    management API taken after the first queue's consumers acknowledged `acked` deliveries.
    Its statistics lag (by 5 s by default): a sample counts only once it shows the acks the
    test knows happened, and then nothing left means no delivery is still to come."""
    samples = [
        _queue_or_none(rabbit_manager, vhost, name) or {"messages": 0, "messages_unacknowledged": 0}
        for name in queues
    ]  # none yet holds nothing
    if samples[0].get("message_stats", {}).get("ack", 0) < acked:
        return False
    return all(
        q.get("messages", 1) == 0 and q.get("messages_unacknowledged", 1) == 0 for q in samples
    )


def _queue_or_none(rabbit_manager, vhost, name):
    from requests import HTTPError

    try:
        return rabbit_manager.get_queue(vhost, name)
    except HTTPError as error:
        if error.response is not None and error.response.status_code == 404:
            return None
        raise


def has_consumer(amqp_uri, queue_name):
    """True once the queue exists and something consumes it."""
    try:
        with Connection(as_tool(amqp_uri)) as connection:
            declared = Queue(queue_name)(connection.default_channel).queue_declare(passive=True)
            return declared.consumer_count > 0
    except Exception:
        return False


def has_local_broker():
    """True when RabbitMQ runs on this machine (not in a container started for the tests)."""
    import subprocess

    try:
        return (
            subprocess.run(["rabbitmqctl", "status"], capture_output=True, timeout=30).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def vhost_connections(rabbit_manager, vhost):
    """Names of the broker connections open on `vhost`, as the management API lists them."""
    return {c["name"] for c in rabbit_manager.get_connections() if c.get("vhost") == vhost}


def cut_connections(rabbit_manager, vhost, timeout=60):
    """What a broker restart does to a service: every connection open on `vhost` drops. Waits
    until they are listed (the API lists a new one a moment late), then asks again for any
    close the broker has not acted on yet, until every one is gone; returns their names."""
    from tests.support.waiting import wait_until

    names = wait_until(
        lambda: vhost_connections(rabbit_manager, vhost),
        what="the service's broker connections to be listed",
    )

    def cut():
        left = names & vhost_connections(rabbit_manager, vhost)
        for name in left:
            try:
                rabbit_manager.delete_connection(name)
            except Exception:
                pass  # gone meanwhile
        return not left

    wait_until(cut, timeout=timeout, what="the cut connections to close (no fault happened)")
    return names
