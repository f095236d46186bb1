"""The database itself refuses to change or remove audit rows, for the app role and the owner."""

import uuid

import psycopg
import pytest

from services.audit.chain import GENESIS_HASH

CHANGES = {
    "UPDATE": "UPDATE {table} SET seq = seq",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table}",
}


@pytest.fixture
def database(make_database):
    urls = make_database("audit")
    tenant = str(uuid.uuid4())
    with psycopg.connect(urls["app"]) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        conn.execute(
            "INSERT INTO audit_entry (tenant_id, seq, event_id, envelope, prev_hash, hash)"
            " VALUES (%s, 1, %s, '{}', %s, %s)",
            (tenant, str(uuid.uuid4()), bytes.fromhex(GENESIS_HASH), bytes(32)),
        )
        conn.execute(
            "INSERT INTO audit_checkpoint"
            " (tenant_id, seq, hash, signed_at, key_id, signature)"
            " VALUES (%s, 1, %s, now(), 'k', 's')",
            (tenant, bytes(32)),
        )
    return urls, tenant


def attempt(urls, tenant, statement, as_owner):
    """Run the statement as the app role (tenant set) or as the owner; return the error."""
    url = urls["admin"] if as_owner else urls["app"]
    with psycopg.connect(url) as conn:
        if as_owner:
            conn.execute("SET ROLE audit_owner")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            conn.execute(statement)
    return str(refused.value)


def remaining(urls, table):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("table", ["audit_entry", "audit_checkpoint"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_app_role_cannot_change_or_remove_audit_rows(database, table, change):
    urls, tenant = database
    error = attempt(urls, tenant, CHANGES[change].format(table=table), as_owner=False)
    assert "permission denied" in error
    assert remaining(urls, table) == 1


@pytest.mark.parametrize("table", ["audit_entry", "audit_checkpoint"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_even_the_owner_cannot_change_or_remove_audit_rows(database, table, change):
    urls, tenant = database
    error = attempt(urls, tenant, CHANGES[change].format(table=table), as_owner=True)
    assert "permission denied" in error
    assert remaining(urls, table) == 1


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_owner_who_regrants_itself_is_still_stopped_by_the_trigger(database, change):
    urls, tenant = database
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute("SET ROLE audit_owner")
        conn.execute("GRANT UPDATE, DELETE, TRUNCATE ON audit_entry TO audit_owner")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            conn.execute(CHANGES[change].format(table="audit_entry"))
    assert "the audit log is append-only" in str(refused.value)
    assert remaining(urls, "audit_entry") == 1
