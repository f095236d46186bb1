"""Database dependency: a psycopg pool and one tenant-scoped transaction per worker."""

import contextlib
import sys
import uuid
import weakref

import psycopg
import structlog
from nameko.extensions import DependencyProvider
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from shared import eventstore, metrics
from shared.envelope import Envelope


class TenantMismatch(RuntimeError):
    """A unit of work serves one tenant; mixing two is a programming error."""


def _open_transaction(pool, tenant_id):
    """A pooled connection inside a transaction with `app.tenant_id` set, in one round trip.

    psycopg would send BEGIN on its own before setting the tenant, a round trip of its own on
    every unit of work (about an eighth of a one-event append). So the connection is put in
    autocommit mode, where psycopg sends no BEGIN, and BEGIN goes with `SET LOCAL` (what
    `set_config(..., true)` does, without a query to plan or a row to return) in one
    simple-protocol query; commit() and rollback() still end the transaction, because psycopg
    ends whatever transaction the server reports open. The tenant is inlined, so it must be
    a UUID and is written in the UUID's own spelling (nothing else can reach the SQL).
    """
    literal = str(uuid.UUID(tenant_id))
    conn = pool.getconn()
    try:
        conn.autocommit = True
        conn.execute(f"BEGIN; SET LOCAL app.tenant_id = '{literal}'".encode(), prepare=False)
    except BaseException:
        _return(pool, conn)
        raise
    return conn


def _return(pool, conn):
    """Back to the pool as it was lent: no transaction open, psycopg's own BEGIN on again."""
    try:
        if not conn.closed and conn.pgconn.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        conn.autocommit = False
    except psycopg.Error:
        pass  # a broken connection: the pool discards it
    pool.putconn(conn)


@contextlib.contextmanager
def tenant_transaction(pool, tenant_id):
    """A transaction of its own for `tenant_id` on a pooled connection, outside any worker's
    unit of work (background loops, streamed response bodies): committed when the block ends,
    rolled back when it raises."""
    conn = _open_transaction(pool, str(tenant_id))
    try:
        yield conn
        conn.commit()
    finally:
        _return(pool, conn)  # rolls back whatever is still open


class UnitOfWork:
    """The worker's transaction, opened on first use with `app.tenant_id` set for RLS."""

    def __init__(self, pool, service, context=None):
        self._pool = pool
        self.service = service
        # the worker's context data: correlation and causation ids are read when used
        self.context = {} if context is None else context
        self.tenant_id = None
        self._conn = None
        # set by shared.retry once the worker lost a race: from then on it queues for each
        # stream it loads instead of racing for it again (see load)
        self.serialize_streams = False

    def begin(self, tenant_id):
        tenant_id = str(tenant_id)
        if self._conn is None:
            self._conn = _open_transaction(self._pool, tenant_id)
            self.tenant_id = tenant_id
            structlog.contextvars.bind_contextvars(tenant_id=tenant_id)
        elif tenant_id != self.tenant_id:
            raise TenantMismatch(f"unit of work is bound to tenant {self.tenant_id}")
        return self._conn

    @property
    def conn(self):
        if self._conn is None:
            raise RuntimeError("call begin(tenant_id) before using the connection")
        return self._conn

    def new_event(
        self, name, stream_id, data, *, actor, pii=None, schema_version=1, occurred_at=None
    ):
        """An envelope of this service for the current tenant, carrying the worker's ids."""
        return Envelope.new(
            f"{self.service}.{name}",
            self.tenant_id,
            stream_id,
            data,
            actor=actor,
            pii=pii,
            schema_version=schema_version,
            correlation_id=self.context.get("correlation_id"),
            causation_id=self.context.get("causation_id"),
            occurred_at=occurred_at,
        )

    def append(self, stream_id, expected_version, envelopes):
        return eventstore.append(self.conn, stream_id, expected_version, envelopes)

    def appending(self, stream_id, expected_version, envelopes):
        """`append` in one round trip with the writes of the block (eventstore.appending)."""
        return eventstore.appending(self.conn, stream_id, expected_version, envelopes)

    def appending_streams(self, envelopes):
        """The first events of many new streams in one statement and one round trip with the
        writes of the block (eventstore.appending_streams)."""
        return eventstore.appending_streams(self.conn, envelopes)

    def part(self):
        """A unit of work of its own on the same pool, for the same worker (its correlation
        and causation ids): a long request that commits in parts (ticketing's bulk import)
        finishes each part itself, whatever the worker's own unit does."""
        return UnitOfWork(self._pool, self.service, self.context)

    def append_next(self, stream_id, envelopes):
        """Append after whatever the stream holds now: for writers whose decision does not
        depend on the stream's state (a new fact, not a guarded transition)."""
        return eventstore.append_next(self.conn, stream_id, envelopes)

    def version(self, stream_id):
        return eventstore.current_version(self.conn, self.tenant_id, stream_id)

    def load(self, stream_id, after_version=0):
        if self.serialize_streams:
            # held to the end of the transaction: the next writer reads what this one wrote
            self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"{self.tenant_id}/{stream_id}",),
            )
        return eventstore.load(self.conn, self.tenant_id, stream_id, after_version)

    def ping(self):
        with self._pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")

    def finish(self, commit):
        """Commit or roll back and return the connection; a failed commit raises."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            _return(self._pool, conn)


class Database(DependencyProvider):
    """Injects a UnitOfWork; entrypoints call `finish` before they answer (see web, rpc)."""

    def __init__(self, url_key="DATABASE_URL", min_size=1, max_size=None):
        self.url_key = url_key
        self.min_size = min_size
        self.max_size = max_size  # default: one connection per worker, and two to spare
        self.pool = None
        self.units = weakref.WeakKeyDictionary()

    def setup(self):
        config = self.container.config
        self.pool = ConnectionPool(
            config[self.url_key],
            min_size=self.min_size,
            max_size=self.max_size or int(config.get("max_workers", 10)) + 2,
            open=False,
            name=f"{self.container.service_name}-{self.attr_name}",
            kwargs={"autocommit": False},
        )
        metrics.POOLS.register(self.container.service_name, self.attr_name, self.pool)

    def start(self):
        self.pool.open(wait=False)

    def stop(self):
        self.pool.close()
        metrics.POOLS.unregister(self.container.service_name, self.attr_name, self.pool)

    kill = stop

    def get_dependency(self, worker_ctx):
        unit = UnitOfWork(self.pool, self.container.service_name, worker_ctx.data)
        self.units[worker_ctx] = unit
        return unit

    def finish(self, worker_ctx, exc_info):
        """Commit when the worker succeeded; return the exc_info the entrypoint should report."""
        unit = self.units.pop(worker_ctx, None)
        if unit is None:
            return exc_info
        try:
            unit.finish(commit=exc_info is None)
        except Exception:
            return sys.exc_info()
        return exc_info

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        # entrypoints without a result handler (timers) settle here, after the method
        unit = self.units.pop(worker_ctx, None)
        if unit is not None:
            try:
                unit.finish(commit=exc_info is None)
            except Exception:
                structlog.get_logger().exception(
                    "commit failed", entrypoint=worker_ctx.entrypoint.method_name
                )


def finish_transactions(worker_ctx, exc_info):
    """Settle every transactional dependency of the worker before its result is sent."""
    for provider in worker_ctx.container.dependencies:
        finish = getattr(provider, "finish", None)
        if callable(finish):
            exc_info = finish(worker_ctx, exc_info)
    return exc_info
