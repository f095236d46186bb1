"""Every table of every service database under the isolation rule, and the rule's own teeth."""

import psycopg
import pytest
from psycopg import sql

from shared import config
from tests.support.isolation import findings


@pytest.mark.parametrize("service", config.SERVICES)
def test_every_table_of_the_service_database_keeps_tenants_apart(make_database, service):
    with psycopg.connect(make_database(service)["admin"]) as conn:
        assert findings(conn, service) == []


@pytest.fixture
def scratch(make_database):
    """A migrated probe database to break on purpose, as its owner."""
    urls = make_database("probe")
    with psycopg.connect(urls["admin"], autocommit=True) as conn:
        conn.execute("SET ROLE probe_owner")
        yield conn


def isolated_table(conn, name):
    conn.execute(
        sql.SQL("CREATE TABLE {} (tenant_id uuid NOT NULL, note text)").format(sql.Identifier(name))
    )
    conn.execute("SELECT isolate_tenants(%s)", (name,))


def test_the_untouched_scratch_database_passes(scratch):
    isolated_table(scratch, "notes")
    assert findings(scratch, "probe") == []


def test_a_tenant_table_without_force_is_a_breach(scratch):
    scratch.execute("CREATE TABLE notes (tenant_id uuid NOT NULL, note text)")
    scratch.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY")
    assert findings(scratch, "probe") == ["notes: row-level security not forced"]


def test_a_tenant_table_without_rls_is_a_breach(scratch):
    scratch.execute("CREATE TABLE notes (tenant_id uuid NOT NULL, note text)")
    assert findings(scratch, "probe") == [
        "notes: row-level security not enabled",
        "notes: row-level security not forced",
    ]


def test_a_using_true_policy_beside_the_tenant_policy_is_a_breach(scratch):
    isolated_table(scratch, "notes")
    scratch.execute("CREATE POLICY everyone ON notes FOR SELECT USING (true)")
    assert findings(scratch, "probe") == [
        "notes.everyone: USING true does not compare tenant_id with the session's tenant"
    ]


def test_a_tenant_comparison_widened_by_or_is_a_breach(scratch):
    scratch.execute("CREATE TABLE notes (tenant_id uuid NOT NULL, note text)")
    scratch.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY")
    scratch.execute("ALTER TABLE notes FORCE ROW LEVEL SECURITY")
    scratch.execute(
        "CREATE POLICY leaky ON notes USING (tenant_id ="
        " NULLIF(current_setting('app.tenant_id', true), '')::uuid OR note = 'x')"
    )
    breaches = findings(scratch, "probe")
    assert len(breaches) == 2 and all(b.startswith("notes.leaky:") for b in breaches)


def test_a_policy_that_checks_nothing_on_insert_is_a_breach(scratch):
    isolated_table(scratch, "notes")
    scratch.execute("CREATE POLICY anything ON notes FOR INSERT WITH CHECK (true)")
    assert findings(scratch, "probe") == [
        "notes.anything: WITH CHECK true does not compare tenant_id with the session's tenant"
    ]


def test_a_system_policy_that_writes_is_a_breach(scratch):
    isolated_table(scratch, "notes")
    scratch.execute("CREATE POLICY relay_all ON notes TO probe_system USING (true)")
    assert findings(scratch, "probe") == ["notes.relay_all: the system role may only read (ALL)"]


def test_a_view_of_tenant_rows_that_runs_as_its_owner_is_a_breach(scratch):
    isolated_table(scratch, "notes")
    scratch.execute("CREATE VIEW all_notes AS SELECT * FROM notes")
    assert findings(scratch, "probe") == [
        "all_notes: a view of tenant rows without security_invoker"
    ]


def test_an_undeclared_table_without_tenant_id_is_a_breach(scratch):
    scratch.execute("CREATE TABLE people (email text)")
    assert findings(scratch, "probe") == ["people: no tenant_id column and not declared tenantless"]


def test_a_declared_tenantless_table_gaining_a_column_is_a_breach(scratch):
    scratch.execute("ALTER TABLE relay_checkpoint ADD COLUMN last_actor_email text")
    assert findings(scratch, "probe") == [
        "relay_checkpoint: a tenantless table with undeclared columns ['last_actor_email']"
    ]


def test_an_open_lookup_policy_holds_only_its_declared_columns(scratch):
    scratch.execute("CREATE TABLE directory (account_hash text, tenant_id uuid)")
    scratch.execute("ALTER TABLE directory ENABLE ROW LEVEL SECURITY")
    scratch.execute("ALTER TABLE directory FORCE ROW LEVEL SECURITY")
    scratch.execute("CREATE POLICY lookup ON directory FOR SELECT USING (true)")
    declared = {
        "open_policies": {("probe", "directory", "lookup"): "sign-in lookup"},
        "declared_columns": {("probe", "directory"): {"account_hash", "tenant_id"}},
    }
    assert findings(scratch, "probe", **declared) == []
    assert findings(scratch, "probe")[0].startswith("directory.lookup: USING true")
    scratch.execute("ALTER TABLE directory ADD COLUMN email text")
    assert findings(scratch, "probe", **declared) == [
        "directory.lookup: an open policy on a table whose columns are not declared free of"
        " personal data"
    ]


def test_a_declared_system_write_widened_beyond_its_condition_is_a_breach(scratch):
    scratch.execute("DROP POLICY system_expiry ON idempotency_keys")
    scratch.execute(
        "CREATE POLICY system_expiry ON idempotency_keys FOR DELETE TO probe_system USING (true)"
    )
    assert findings(scratch, "probe") == [
        "idempotency_keys.system_expiry: the system role may only read (DELETE)"
    ]
