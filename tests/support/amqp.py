"""Small helpers to look at what reached RabbitMQ in a test's vhost."""
import json
import time

from kombu import Connection, Exchange, Queue


def bind_queue(amqp_uri, service, routing_key="#", name=None):
    """A durable queue bound to `<service>.events`, so the test sees what was published."""
    queue = Queue(name or f"test-{service}-{time.monotonic_ns()}",
                  exchange=Exchange(f"{service}.events", type="topic", durable=True),
                  routing_key=routing_key, durable=True)
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).declare()
    return queue.name


def drain(amqp_uri, queue_name, expect=None, timeout=5.0):
    """(body, headers) of every message in the queue; waits until `expect` arrived."""
    received = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
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
    with Connection(amqp_uri) as connection:
        return Queue(queue_name)(connection.default_channel).queue_declare(passive=True).message_count
