"""Who may call what: every RPC refuses an anonymous caller and the wrong service; event
consumers take only what the service their names say published."""

import uuid

import pytest
from kombu import Exchange
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from shared import config, metrics
from shared.broker import with_user
from shared.db import Database
from shared.envelope import Envelope, utcnow
from shared.launch import service_class
from shared.messaging import event_handler
from shared.rpc import ClusterRpcClient, RpcEntrypoint
from tests.support.amqp import as_user, confirming_connection, drain
from tests.support.waiting import wait_until

QUORUM = {"x-queue-type": "quorum"}


def guarded_rpcs(cls):
    """(method name, callers) of every RPC entrypoint of a service class."""
    found = []
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, RpcEntrypoint):
                found.append((name, entrypoint.callers))
    return sorted(found)


def refused(proxy, service, method):
    with pytest.raises(RemoteError) as raised:
        getattr(getattr(proxy, service), method)()
    return raised.value


def refusals(service, method, caller):
    return metrics.RPC_REFUSED.labels(service, method, caller)._value.get()


# services nothing calls: integrations holds no subject's data and answers HTTP only
WITHOUT_RPC = {"integrations"}


def test_only_the_declared_services_have_no_rpc():
    assert {s for s in config.SERVICES if not guarded_rpcs(service_class(s))} == WITHOUT_RPC


@pytest.mark.parametrize("service", [s for s in config.SERVICES if s not in WITHOUT_RPC])
def test_each_rpc_refuses_an_anonymous_caller_and_a_wrong_service(
    service, service_config, container_factory
):
    cls = service_class(service)
    cfg, _ = service_config(service)
    container_factory(cls, cfg).start()
    rpcs = guarded_rpcs(cls)
    assert rpcs, f"{service} has no RPC"
    guest = with_user(cfg["AMQP_URI"], "guest", "guest")
    with ClusterRpcProxy({"AMQP_URI": guest}, timeout=20) as anonymous:
        for method, _callers in rpcs:
            before = refusals(service, method, "anonymous")
            error = refused(anonymous, service, method)
            assert error.exc_type == "CallerRefused"
            assert refusals(service, method, "anonymous") == before + 1
    for method, callers in rpcs:
        wrong = next(name for name in config.SERVICES if name not in callers)
        with ClusterRpcClient({"AMQP_URI": as_user(cfg["AMQP_URI"], wrong)}, timeout=20) as proxy:
            error = refused(proxy, service, method)
        assert (error.exc_type, error.value) == (
            "CallerRefused",
            f"{wrong} may not call {service}.{method}",
        )


def test_the_declared_callers_of_the_sensitive_rpcs():
    callers = {
        (service, method): allowed
        for service in config.SERVICES
        for method, allowed in guarded_rpcs(service_class(service))
    }
    assert callers[("privacy", "get_subject_key")] == {
        "identity",
        "ticketing",
        "ai",
        "notifications",
    }
    for (service, method), allowed in callers.items():
        if method in ("purge_subject", "export_subject", "rectify_subject"):
            assert allowed == {"privacy"}, (service, method)
    assert callers[("privacy", "request_erasure")] == {"identity"}


class Listener:
    """Consumes ai's events, as a service's consumer does; fails each event once if told to."""

    name = "probe"
    db = Database()
    seen = []
    failed = set()

    @event_handler("ai", "#")
    def handle_ai_event(self, event):
        if event.data.get("fail_once") and event.event_id not in Listener.failed:
            Listener.failed.add(event.event_id)
            raise RuntimeError("failing once")
        Listener.seen.append(event.event_id)


QUEUE = "evt-ai-all--probe.handle_ai_event"


def ai_event(event_type="ai.summary_generated", **data):
    """A body as any broker client could publish it: made by hand, not by Envelope.new (which
    keeps a service's own events to their declared classes)."""
    event_id = str(uuid.uuid4())
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        tenant_id=str(uuid.uuid4()),
        stream_id="s-1",
        occurred_at=utcnow().isoformat(),
        actor={"system": "test"},
        correlation_id=event_id,
        data={"n": 1, **data},
        stream_version=1,
    ).to_dict()


def publish(amqp_uri, body, **properties):
    with confirming_connection(amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            body,
            exchange=Exchange("ai.events", type="topic", durable=True),
            declare=[],
            routing_key=body["event_type"].split(".", 1)[1],
            delivery_mode=2,
            **properties,
        )


@pytest.fixture
def listener(service_config, container_factory):
    Listener.seen.clear()
    cfg, _ = service_config("probe", EVENT_RETRY_BACKOFF_MS=10)
    container = container_factory(Listener, cfg)
    container.start()
    return cfg, container


def test_a_consumer_dead_letters_an_event_not_from_the_service_it_names(listener):
    cfg, container = listener
    ai = as_user(cfg["AMQP_URI"], "ai")
    forged = ai_event("ticketing.ticket_opened")  # on ai's own exchange, a name not ai's
    anonymous = ai_event()  # guest, no user_id
    with entrypoint_waiter(container, "handle_ai_event", timeout=20):
        publish(ai, forged, user_id="ai")
    with entrypoint_waiter(container, "handle_ai_event", timeout=20):
        publish(with_user(cfg["AMQP_URI"], "guest", "guest"), anonymous)
    genuine = ai_event()
    with entrypoint_waiter(container, "handle_ai_event", timeout=20):
        publish(ai, genuine, user_id="ai")

    dead = drain(cfg["AMQP_URI"], f"{QUEUE}.dlq", expect=2, timeout=20)
    reasons = {body["event_id"]: headers["x-last-error"] for body, headers in dead}
    assert reasons == {
        forged["event_id"]: "PoisonMessage: forged sender: ticketing.ticket_opened published by ai",
        anonymous[
            "event_id"
        ]: "PoisonMessage: forged sender: ai.summary_generated published by anonymous",
    }
    assert Listener.seen == [genuine["event_id"]]


def test_a_retried_event_keeps_its_sender(listener):
    cfg, container = listener
    event = ai_event(fail_once=True)
    publish(as_user(cfg["AMQP_URI"], "ai"), event, user_id="ai")
    wait_until(lambda: Listener.seen == [event["event_id"]], 20, what="the retried event")
    assert event["event_id"] in Listener.failed


def test_a_services_rpc_queue_is_quorum_so_its_rpcs_outlive_a_node(
    container_factory, service_config, rabbit_manager
):
    from tests.support.probe import EchoService

    cfg, _ = service_config("probe")
    container_factory(EchoService, cfg).start()

    assert rabbit_manager.get_queue(cfg["vhost"], "rpc-echo")["type"] == "quorum"


def test_the_broker_set_up_retires_a_classic_rpc_queue_of_an_earlier_release(
    service_config, rabbit_manager, request
):
    from shared import broker

    cfg, _ = service_config("probe")
    vhost = cfg["vhost"]
    rabbit_manager.create_queue(vhost, "rpc-identity", durable=True)  # classic, as nameko made it
    rabbit_manager.create_queue(vhost, "rpc-ticketing", durable=True, arguments=QUORUM)
    assert rabbit_manager.get_queue(vhost, "rpc-identity")["type"] == "classic"

    broker.apply(request.config.getoption("RABBIT_API_URI"), broker.definitions(vhost))

    queues = {q["name"]: q["type"] for q in rabbit_manager.get_queues(vhost)}
    assert "rpc-identity" not in queues  # the service declares it quorum when it starts
    assert queues["rpc-ticketing"] == "quorum"  # a quorum one is left as it is
