"""RPC entrypoint that commits the worker's transaction before it replies."""
import eventlet
from kombu.exceptions import OperationalError
from nameko.rpc import MethodProxy, Rpc, RpcProxy as NamekoRpcProxy, ServiceProxy

from shared.db import finish_transactions
from shared.errors import DependencyUnavailable

# a publish on a broken connection reconnects once at once, then fails: a request answers
# 503 in well under a second instead of retrying for seconds with its worker held
QUICK_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}


class RpcEntrypoint(Rpc):
    def handle_result(self, message, worker_ctx, result, exc_info):
        exc_info = finish_transactions(worker_ctx, exc_info)
        if exc_info is not None:
            result = None
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = RpcEntrypoint.decorator


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
        return TimedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                                **self.options)


class RpcProxy(NamekoRpcProxy):
    """nameko's RpcProxy with RPC_TIMEOUT (seconds, default 5) and QUICK_RETRY publishes."""

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT", 5))
        options = {"retry_policy": QUICK_RETRY, **self.options}
        return TimedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                 timeout=timeout, **options)
