"""Streaming a tenant's log as NDJSON without holding it, on connections of the reader's own.

The worker's transaction is committed by the HTTP entrypoint before the response body is
sent, so a streamed body cannot read through it. The generator instead reads keyset pages,
each in a short transaction of its own on a pooled connection with the tenant set, and holds
no connection while the client reads. Entries never change, so pages stitch together exactly;
the range ends at the head seen when the request came in, so a busy log still ends.
"""

from services.audit import store
from shared.db import tenant_transaction

PAGE = 2000


class LogStreams:
    """A tenant's entries as NDJSON, read page by page from the pool."""

    def __init__(self, pool):
        self.pool = pool

    def head_seq(self, tenant_id):
        with tenant_transaction(self.pool, tenant_id) as conn:
            return store.head(conn, tenant_id)[0]

    def ndjson(self, tenant_id, query, after_seq, limit=None):
        """NDJSON bytes of the matching entries after `after_seq`, page by page."""
        upto = self.head_seq(tenant_id)
        last, left = after_seq, limit

        def lines():
            nonlocal last, left
            while left is None or left > 0:
                size = PAGE if left is None else min(PAGE, left)
                with tenant_transaction(self.pool, tenant_id) as conn:
                    rows = store.entries_after(conn, tenant_id, last, size, query, upto)
                if not rows:
                    return
                yield "".join(store.entry_line(tenant_id, row) + "\n" for row in rows).encode()
                last = rows[-1][0]
                if left is not None:
                    left -= len(rows)
                if len(rows) < size:
                    return

        return lines()
