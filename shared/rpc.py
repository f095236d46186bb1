"""RPC with authenticated callers: each entrypoint names the services that may call it.

The caller is the AMQP `user_id` of the request, which RabbitMQ checks against the
connection's user; a request without one is anonymous. Every request and reply a service
publishes carries its own user as `user_id`.
"""

import eventlet
import structlog
from kombu import Queue
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher
from nameko.rpc import (
    RPC_QUEUE_TEMPLATE,
    MethodProxy,
    Responder,
    Rpc,
    RpcConsumer,
    RpcProxy,
    ServiceProxy,
    get_rpc_exchange,
)
from nameko.standalone.rpc import ClusterProxy, ClusterRpcProxy

from shared import metrics
from shared.broker import ANONYMOUS, queue_arguments, user_of
from shared.db import finish_transactions
from shared.errors import DependencyUnavailable
from shared.retry import retrying

log = structlog.get_logger()

# a publish on a broken connection reconnects once at once, then fails: a request answers
# 503 in well under a second instead of retrying for seconds with its worker held
QUICK_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}

# who may call what, by broker user (= service name)
PRIVACY = frozenset({"privacy"})
PERSONAL_DATA_HOLDERS = frozenset({"identity", "ticketing", "ai", "notifications"})  # they decrypt


class CallerRefused(Exception):
    """The caller is not among those the RPC accepts."""


class SigningPublisher(Publisher):
    """nameko's publisher, with the connection's user as every message's `user_id`."""

    def __init__(self, amqp_uri, **options):
        options.setdefault("user_id", user_of(amqp_uri))
        super().__init__(amqp_uri, **options)


class SigningResponder(Responder):
    publisher_cls = SigningPublisher


class SigningRpcConsumer(RpcConsumer):
    def setup(self):
        # nameko's own queue, declared with the service's queue arguments: quorum, so the
        # service's RPCs are served while any one node of a cluster is down
        if self.queue is None:
            service_name = self.container.service_name
            self.queue = Queue(
                RPC_QUEUE_TEMPLATE.format(service_name),
                exchange=get_rpc_exchange(self.container.config),
                routing_key=f"{service_name}.*",
                durable=True,
                queue_arguments=queue_arguments(self.container.config),
            )
            self.queue_consumer.register_provider(self)
            self._registered = True

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = SigningResponder(
            config["AMQP_URI"],
            get_rpc_exchange(config),
            config.get("serializer", "json"),
            message,
            ssl=config.get("AMQP_SSL"),
            login_method=config.get("LOGIN_METHOD"),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


def caller_of(message):
    return message.properties.get("user_id") or ANONYMOUS


class RpcEntrypoint(Rpc):
    """Refuses callers outside `callers` before any work; commits before it replies."""

    rpc_consumer = SigningRpcConsumer()

    def __init__(self, callers, **kwargs):
        if not callers or isinstance(callers, str):
            raise TypeError("an RPC names the services that may call it: callers={...}")
        self.callers = frozenset(callers)
        super().__init__(**kwargs)  # nameko keeps every argument for bind() (see __new__)

    def setup(self):
        # operators' tools (broker users named in DZDESK_RPC_OPERATORS) may call every RPC
        operators = self.container.config.get("DZDESK_RPC_OPERATORS") or ""
        self.allowed = self.callers | {
            name.strip() for name in operators.split(",") if name.strip()
        }
        super().setup()

    def handle_message(self, body, message):
        caller = caller_of(message)
        if caller in self.allowed:
            return super().handle_message(body, message)
        service = self.container.service_name
        log.warning("rpc caller refused", rpc=f"{service}.{self.method_name}", caller=caller)
        metrics.RPC_REFUSED.labels(service, self.method_name, caller).inc()
        if "reply_to" not in message.properties:
            return self.rpc_consumer.queue_consumer.ack_message(message)  # no one to tell
        refusal = CallerRefused(f"{caller} may not call {service}.{self.method_name}")
        self.rpc_consumer.handle_result(message, None, (CallerRefused, refusal, None))

    def unpack_message_headers(self, message):
        # the caller comes from the broker-checked property, never from a header
        context_data = super().unpack_message_headers(message)
        context_data["caller"] = caller_of(message)
        return context_data

    def handle_result(self, message, worker_ctx, result, exc_info):
        exc_info = finish_transactions(worker_ctx, exc_info)
        if exc_info is not None:
            result = None
        return super().handle_result(message, worker_ctx, result, exc_info)


_retrying_rpc = retrying(RpcEntrypoint.decorator)


def rpc(fn=None, *, callers=None):
    """`@rpc(callers={"privacy"})`: an RPC only those services may call; a lost race is
    decided again (shared.retry)."""
    if fn is not None:
        raise TypeError("an RPC names the services that may call it: @rpc(callers={...})")
    return _retrying_rpc(callers=callers)


class TimedMethodProxy(MethodProxy):
    """A call that fails fast when the broker is away and waits at most `timeout` for its
    reply (one lost in a broker restart would hold the worker for ever); both raise
    DependencyUnavailable (503 over HTTP, a transient error to an event handler)."""

    def __init__(self, *args, timeout, **options):
        self.timeout = timeout
        super().__init__(*args, **options)

    def __call__(self, *args, **kwargs):
        unavailable = DependencyUnavailable(f"{self.service_name} cannot be reached now")
        try:
            with eventlet.Timeout(self.timeout, unavailable):
                reply = self._call(*args, **kwargs)
                return reply.result()
        except (OSError, OperationalError) as exc:  # UnknownService stays nameko's own
            raise unavailable from exc


class TimedServiceProxy(ServiceProxy):
    def __getattr__(self, name):
        return TimedMethodProxy(
            self.worker_ctx, self.service_name, name, self.reply_listener, **self.options
        )


class ServiceRpc(RpcProxy):
    """nameko's RpcProxy whose requests carry this service's user as `user_id`, with
    RPC_TIMEOUT (seconds, default 5) and QUICK_RETRY publishes."""

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT", 5))
        options = {
            "retry_policy": QUICK_RETRY,
            **self.options,
            "user_id": user_of(self.container.config["AMQP_URI"]),
        }
        return TimedServiceProxy(
            worker_ctx, self.target_service, self.rpc_reply_listener, timeout=timeout, **options
        )


class _SigningClusterProxy(ClusterProxy):
    def __init__(self, worker_ctx, reply_listener, options):
        super().__init__(worker_ctx, reply_listener)
        self._options = options

    def __getattr__(self, name):
        if name not in self._proxies:
            self._proxies[name] = ServiceProxy(
                self._worker_ctx, name, self._reply_listener, **self._options
            )
        return self._proxies[name]


class ClusterRpcClient(ClusterRpcProxy):
    """nameko's standalone cluster proxy, for calls outside a worker: each request carries
    the connection's user as `user_id`, and its reply queue is named after that user.

    `publish` holds kombu publish options for every request (e.g. `retry_policy`), which
    nameko's own standalone proxy does not take."""

    def __init__(self, config, *, publish=None, **kwargs):
        super().__init__(config, **kwargs)
        user = user_of(config["AMQP_URI"])
        self._worker_ctx.container.service_name = user
        options = {**(publish or {}), "user_id": user}
        self._proxy = _SigningClusterProxy(self._worker_ctx, self._reply_listener, options)
