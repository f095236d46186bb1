"""RPC entrypoint that commits the worker's transaction before it replies."""
from nameko.rpc import Rpc

from shared.db import finish_transactions
from shared.retry import retrying


class RpcEntrypoint(Rpc):
    def handle_result(self, message, worker_ctx, result, exc_info):
        exc_info = finish_transactions(worker_ctx, exc_info)
        if exc_info is not None:
            result = None
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = retrying(RpcEntrypoint.decorator)
