"""The worker's unit of work: one transaction, the tenant set for RLS, the connection handed
back to the pool as it was lent."""

import uuid

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from shared.db import UnitOfWork
from shared.envelope import Envelope


@pytest.fixture
def pool(make_database):
    urls = make_database("probe")
    with ConnectionPool(urls["app"], min_size=1, max_size=1, kwargs={"autocommit": False}) as pool:
        pool.wait()
        pool.urls = urls
        yield pool


def note(tenant, stream):
    return Envelope.new("probe.note_added", tenant, stream, {"n": 1}, actor={"system": "test"})


def stored_streams(urls):
    with psycopg.connect(urls["admin"]) as conn:
        return [row[0] for row in conn.execute("SELECT stream_id FROM events")]


def test_every_statement_runs_in_one_transaction_with_the_tenant_set(pool):
    tenant = str(uuid.uuid4())
    unit = UnitOfWork(pool, "probe")
    conn = unit.begin(tenant)

    first = conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0]
    setting, second = conn.execute(
        "SELECT current_setting('app.tenant_id'), pg_current_xact_id()::text"
    ).fetchone()
    unit.finish(commit=True)

    assert (setting, second) == (tenant, first)


def test_a_committed_unit_keeps_its_writes_and_a_rolled_back_one_leaves_nothing(pool):
    tenant = str(uuid.uuid4())
    for stream, commit in (("kept", True), ("dropped", False)):
        unit = UnitOfWork(pool, "probe")
        unit.begin(tenant)
        unit.append(stream, 0, [note(tenant, stream)])
        unit.finish(commit=commit)

    assert stored_streams(pool.urls) == ["kept"]


def test_a_failed_statement_rolls_back_and_the_connection_serves_the_next_unit(pool):
    tenant = str(uuid.uuid4())
    unit = UnitOfWork(pool, "probe")
    conn = unit.begin(tenant)
    unit.append("half", 0, [note(tenant, "half")])
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    unit.finish(commit=False)

    unit = UnitOfWork(pool, "probe")
    unit.begin(tenant)
    unit.append("next", 0, [note(tenant, "next")])
    unit.finish(commit=True)

    assert stored_streams(pool.urls) == ["next"]


def test_the_connection_goes_back_idle_in_its_own_mode_with_no_tenant_left_on_it(pool):
    unit = UnitOfWork(pool, "probe")
    unit.begin(str(uuid.uuid4()))
    unit.finish(commit=True)

    with pool.connection() as conn:  # max_size=1: the very connection the unit had
        assert conn.autocommit is False
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone()[0] in (
            None,
            "",
        )
        assert conn.pgconn.transaction_status == TransactionStatus.INTRANS  # psycopg's BEGIN


@pytest.mark.parametrize("tenant", ["acme", "x'); DROP TABLE events; --", ""])
def test_a_tenant_that_is_not_a_uuid_is_refused_before_any_sql(pool, tenant):
    unit = UnitOfWork(pool, "probe")

    with pytest.raises(ValueError):
        unit.begin(tenant)

    assert pool.get_stats()["pool_available"] == 1  # no connection kept
    assert stored_streams(pool.urls) == []  # the table is there, untouched
