import uuid

import eventlet
import psycopg
import pytest

from shared import eventstore
from shared.envelope import Envelope
from shared.eventstore import ConcurrencyError
from tests.support.waiting import wait_until


def event(tenant, stream, n=0):
    return Envelope.new("probe.note_added", tenant, stream, {"n": n}, actor={"system": "test"})


def as_tenant(url, tenant):
    conn = psycopg.connect(url)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
    return conn


def waiting_on_a_lock(db, pid):
    def waiting():
        with psycopg.connect(db["admin"]) as admin:
            return admin.execute(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()[0]

    wait_until(waiting, timeout=10, what="the second writer to wait on the first's key", every=0.01)


def pipelined(conn, stream, expected, envelopes):
    """Append with a statement after it in the same round trip, its result read afterwards (as
    a projection's RETURNING is): eventstore.appending, which keeps every guarantee of append."""
    with eventstore.appending(conn, stream, expected, envelopes) as version:
        after = conn.execute("SELECT 41 + 1")
    assert after.fetchone()[0] == 42
    return version


# the race tests run each writer: the plain append and the pipelined one
WRITERS = pytest.mark.parametrize(
    "write", [eventstore.append, pipelined], ids=["plain", "pipelined"]
)


@pytest.fixture
def db(make_database):
    return make_database("probe")


def test_appended_events_load_back_in_version_order(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        assert eventstore.append(conn, stream, 0, [event(tenant, stream, i) for i in range(3)]) == 3
        assert eventstore.append(conn, stream, 3, [event(tenant, stream, 3)]) == 4
        loaded = eventstore.load(conn, tenant, stream)
    assert [e.stream_version for e in loaded] == [1, 2, 3, 4]
    assert [e.data["n"] for e in loaded] == [0, 1, 2, 3]


def test_a_stale_expected_version_raises_one_concurrency_error(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        eventstore.append(conn, stream, 0, [event(tenant, stream)])
        eventstore.append(conn, stream, 1, [event(tenant, stream)])
        with pytest.raises(ConcurrencyError) as raised:
            eventstore.append(conn, stream, 1, [event(tenant, stream)])
    assert raised.value.actual == 2


def test_append_next_appends_after_whatever_the_stream_holds(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        assert eventstore.append_next(conn, stream, [event(tenant, stream, 0)]) == 1
        eventstore.append(conn, stream, 1, [event(tenant, stream, 1), event(tenant, stream, 2)])
        assert eventstore.append_next(conn, stream, [event(tenant, stream, 3)]) == 4
        loaded = eventstore.load(conn, tenant, stream)
    assert [(e.stream_version, e.data["n"]) for e in loaded] == [(1, 0), (2, 1), (3, 2), (4, 3)]


def test_an_expected_version_ahead_of_the_stream_is_refused(db):
    tenant, stream = str(uuid.uuid4()), "s"
    with as_tenant(db["app"], tenant) as conn:
        with pytest.raises(ConcurrencyError):
            eventstore.append(conn, stream, 5, [event(tenant, stream)])


@WRITERS
def test_two_writers_racing_for_the_same_version_leave_one_winner(db, write):
    tenant, stream = str(uuid.uuid4()), "s"
    first, second = as_tenant(db["app"], tenant), as_tenant(db["app"], tenant)
    write(first, stream, 0, [event(tenant, stream, 1)])
    racer = eventlet.spawn(write, second, stream, 0, [event(tenant, stream, 2)])
    waiting_on_a_lock(db, second.info.backend_pid)  # on the first's uncommitted key
    first.commit()
    with pytest.raises(ConcurrencyError):
        racer.wait()
    second.rollback()
    with as_tenant(db["app"], tenant) as conn:
        assert [e.data["n"] for e in eventstore.load(conn, tenant, stream)] == [1]
    first.close()
    second.close()


@WRITERS
def test_a_writer_whose_transaction_predates_the_head_writer_must_retry(db, write):
    """Keeps txids ascending per stream, which the relay's order relies on."""
    tenant, stream = str(uuid.uuid4()), "s"
    older, newer = as_tenant(db["app"], tenant), as_tenant(db["app"], tenant)
    eventstore.append(older, "elsewhere", 0, [event(tenant, "elsewhere")])  # takes a txid
    write(newer, stream, 0, [event(tenant, stream)])
    newer.commit()
    with pytest.raises(ConcurrencyError):
        write(older, stream, 1, [event(tenant, stream)])
    older.rollback()
    older.close()
    newer.close()


def test_a_long_stream_folds_from_its_snapshot(db):
    tenant, stream = str(uuid.uuid4()), "long"
    with as_tenant(db["app"], tenant) as conn:
        eventstore.append(conn, stream, 0, [event(tenant, stream, i) for i in range(120)])
        fold = lambda total, e: total + e.data["n"]  # noqa: E731
        version, total = eventstore.load_folded(conn, tenant, stream, fold, 0, snapshot_every=50)
        assert (version, total) == (120, sum(range(120)))
        assert eventstore.load_snapshot(conn, tenant, stream) == (120, sum(range(120)))
        eventstore.append(conn, stream, 120, [event(tenant, stream, 1000)])
        loaded = []
        version, total = eventstore.load_folded(
            conn,
            tenant,
            stream,
            lambda t, e: loaded.append(e) or t + e.data["n"],
            0,
            snapshot_every=50,
        )
    assert (version, total) == (121, sum(range(120)) + 1000)
    assert len(loaded) == 1  # only the event after the snapshot was read
