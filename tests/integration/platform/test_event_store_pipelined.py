"""eventstore.appending: the append and the writes that go with it in one round trip keep every
guarantee of a plain append (stale and racing writers lose, txids stay ascending per stream)."""

import uuid

import eventlet
import pytest

from shared import eventstore
from shared.eventstore import ConcurrencyError
from tests.integration.platform.test_event_store import as_tenant, event, waiting_on_a_lock


@pytest.fixture
def db(make_database):
    return make_database("probe")


def pipelined(conn, stream, expected, envelopes):
    """Append with a statement after it in the same round trip, its result read afterwards (as
    a projection's RETURNING is)."""
    with eventstore.appending(conn, stream, expected, envelopes) as version:
        after = conn.execute("SELECT 41 + 1")
    assert after.fetchone()[0] == 42
    return version


def test_a_result_fetched_inside_the_block_is_there_too(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        with eventstore.appending(conn, stream, 0, [event(tenant, stream)]):
            assert conn.execute("SELECT 42").fetchone()[0] == 42
        assert [e.stream_version for e in eventstore.load(conn, tenant, stream)] == [1]


def test_pipelined_appends_load_back_in_version_order(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        assert pipelined(conn, stream, 0, [event(tenant, stream, i) for i in range(3)]) == 3
        assert pipelined(conn, stream, 3, [event(tenant, stream, 3)]) == 4
        loaded = eventstore.load(conn, tenant, stream)
    assert [e.stream_version for e in loaded] == [1, 2, 3, 4]
    assert [e.data["n"] for e in loaded] == [0, 1, 2, 3]


def test_a_stale_pipelined_append_raises_one_concurrency_error(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        pipelined(conn, stream, 0, [event(tenant, stream)])
        pipelined(conn, stream, 1, [event(tenant, stream)])
        with pytest.raises(ConcurrencyError) as raised:
            pipelined(conn, stream, 1, [event(tenant, stream)])
    assert raised.value.actual == 2


def test_a_pipelined_append_ahead_of_the_stream_is_refused(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        with pytest.raises(ConcurrencyError):
            pipelined(conn, stream, 5, [event(tenant, stream)])


def test_two_pipelined_writers_racing_for_a_new_stream_leave_one_winner(db):
    tenant, stream = str(uuid.uuid4()), "s"
    first, second = as_tenant(db["app"], tenant), as_tenant(db["app"], tenant)
    pipelined(first, stream, 0, [event(tenant, stream, 1)])
    racer = eventlet.spawn(pipelined, second, stream, 0, [event(tenant, stream, 2)])
    waiting_on_a_lock(db, second.info.backend_pid)
    first.commit()
    with pytest.raises(ConcurrencyError):
        racer.wait()
    second.rollback()
    with as_tenant(db["app"], tenant) as conn:
        assert [e.data["n"] for e in eventstore.load(conn, tenant, stream)] == [1]
    first.close()
    second.close()


def test_a_pipelined_writer_whose_transaction_predates_the_head_writer_must_retry(db):
    tenant, stream = str(uuid.uuid4()), "s"
    older, newer = as_tenant(db["app"], tenant), as_tenant(db["app"], tenant)
    eventstore.append(older, "elsewhere", 0, [event(tenant, "elsewhere")])  # takes a txid
    pipelined(newer, stream, 0, [event(tenant, stream)])
    newer.commit()
    with pytest.raises(ConcurrencyError):
        pipelined(older, stream, 1, [event(tenant, stream)])
    older.rollback()
    older.close()
    newer.close()
