"""eventstore.appending: the append and the writes that go with it in one round trip keep every
guarantee of a plain append (stale writers lose here; the race tests of test_event_store.py run
the pipelined writer too: racing writers lose, txids stay ascending per stream)."""

import uuid

import pytest

from shared import eventstore
from shared.eventstore import ConcurrencyError
from tests.integration.platform.test_event_store import as_tenant, event, pipelined


@pytest.fixture
def db(make_database):
    return make_database("probe")


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
