import uuid

import psycopg
import pytest

from shared import eventstore
from shared.envelope import Envelope


@pytest.fixture
def db(make_database):
    return make_database("probe")


def append_as(url, tenant, stream="s"):
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        eventstore.append(
            conn,
            stream,
            0,
            [Envelope.new("probe.note_added", tenant, stream, {}, actor={"system": "test"})],
        )


def count_as(url, tenant=None, table="events"):
    with psycopg.connect(url) as conn:
        if tenant:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_app_role_is_neither_owner_superuser_nor_bypassing_rls(db):
    with psycopg.connect(db["admin"]) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'probe_app'"
        ).fetchone()
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'events'"
        ).fetchone()[0]
        forced = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'events'"
        ).fetchone()
    assert row == (False, False)
    assert owner == "probe_owner"
    assert forced == (True, True)


def test_without_a_tenant_the_app_role_sees_no_rows(db):
    append_as(db["app"], str(uuid.uuid4()))
    assert count_as(db["app"]) == 0
    assert count_as(db["admin"]) == 1


def test_tenant_a_never_sees_tenant_b_rows(db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    append_as(db["app"], a)
    append_as(db["app"], b, stream="other")
    assert count_as(db["app"], a) == 1
    with psycopg.connect(db["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (a,))
        assert eventstore.load(conn, b, "other") == []


def test_tenant_a_cannot_write_a_row_of_tenant_b(db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(db["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (a,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            eventstore.append(
                conn,
                "s",
                0,
                [Envelope.new("probe.note_added", b, "s", {}, actor={"system": "test"})],
            )


def test_the_app_role_cannot_rewrite_history(db):
    tenant = str(uuid.uuid4())
    append_as(db["app"], tenant)
    with psycopg.connect(db["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE events SET event_type = 'probe.forged'")


def test_the_system_role_reads_every_tenant_but_cannot_write(db):
    append_as(db["app"], str(uuid.uuid4()))
    append_as(db["app"], str(uuid.uuid4()))
    assert count_as(db["system"]) == 2
    with psycopg.connect(db["system"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM events")


def test_every_tenant_table_forces_row_level_security(db):
    with psycopg.connect(db["admin"]) as conn:
        unprotected = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE a.attname = 'tenant_id' AND c.relkind = 'r'"
            " AND c.relnamespace = 'public'::regnamespace"
            " AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
        ).fetchall()
    assert unprotected == []
