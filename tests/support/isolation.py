"""Tenant isolation by rule: what every table of a service database must look like under RLS.

`findings(conn, service)` walks the catalog of a migrated database and returns one sentence
per breach; an empty list is a pass. The rule: a table with a `tenant_id` column has row-level
security enabled and forced, and every policy the app role is subject to compares `tenant_id`
with the transaction's tenant (in USING and in WITH CHECK), so `USING (true)` or an `OR` of
anything else is a breach. The system role's cross-tenant policies may only read. What breaks
the rule on purpose is declared below with its reason and the columns it may hold, so a new
column (an email beside a hash) is a breach as well.
"""

from shared import config

# what pg_policies shows for the policy every tenant table gets from isolate_tenants()
SESSION_TENANT = (
    "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)"
)

# (service, table, policy) -> why a policy of the app role may look beyond the tenant
OPEN_POLICIES = {
    (
        "identity",
        "external_identities",
        "lookup",
    ): "sign-in finds the tenant and user of an external account before any tenant is known;"
    " the table holds only keyed hashes (HMAC under the directory key) and opaque ids",
    (
        "identity",
        "organizations",
        "lookup",
    ): "sign-in finds the tenant of an organization (Google hd, Microsoft tid) before any"
    " tenant is known; the table holds only keyed hashes and opaque ids",
}

# (service, table) -> the only columns a table that breaks the rule may have: no personal data
DECLARED_COLUMNS = {
    ("identity", "external_identities"): {"account_hash", "provider", "tenant_id", "user_id"},
    ("identity", "organizations"): {"org_hash", "provider", "tenant_id"},
}

# (service or "*", table, policy) -> why the system role, which spans tenants, may do more than
# read there, with the command and the exact USING it is held to
SYSTEM_WRITES = {
    ("*", "idempotency_keys", "system_expiry"): (
        "the expiry job deletes idempotency records older than 24 hours in every tenant",
        "DELETE",
        "(created_at < (now() - '24:00:00'::interval))",
    ),
}

# (service or "*", table) -> why a table has no tenant_id (and so no RLS), with its columns
TENANTLESS = {
    ("*", "schema_migrations"): ("which migration files ran", {"source", "version", "applied_at"}),
    ("*", "relay_checkpoint"): (
        "the outbox relay's position, one row per service database",
        {"name", "txid", "position", "updated_at"},
    ),
    ("privacy", "policy_versions"): (
        "the platform's privacy policy texts, the same for every tenant; published_by is a"
        " platform admin's user id",
        {"seq", "version", "title", "summary", "url", "published_by", "published_at"},
    ),
    ("audit", "audit_signing_key"): (
        "the platform's checkpoint signing keys: public JWKs and the private part sealed under"
        " the master key",
        {"key_id", "public_jwk", "encrypted_private", "created_at"},
    ),
}


def _columns(conn, table):
    return {
        row[0]
        for row in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped",
            (f"public.{table}",),
        )
    }


def _declared(declarations, service, *key):
    return declarations.get((service, *key)) or declarations.get(("*", *key))


def findings(conn, service, open_policies=None, declared_columns=None, tenantless=None):
    """Every breach of the isolation rule in the database `conn` is connected to (as admin)."""
    open_policies = OPEN_POLICIES if open_policies is None else open_policies
    declared_columns = DECLARED_COLUMNS if declared_columns is None else declared_columns
    tenantless = TENANTLESS if tenantless is None else tenantless
    roles = config.role_names(service)
    found = []
    relations = conn.execute(
        "SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,"
        " coalesce(c.reloptions, '{}'), EXISTS (SELECT 1 FROM pg_attribute a WHERE"
        " a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)"
        " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname"
    ).fetchall()
    for name, kind, enabled, forced, options, tenant_column in relations:
        if not tenant_column:
            declared = _declared(tenantless, service, name)
            if declared is None:
                found.append(f"{name}: no tenant_id column and not declared tenantless")
            elif _columns(conn, name) - declared[1]:
                extra = sorted(_columns(conn, name) - declared[1])
                found.append(f"{name}: a tenantless table with undeclared columns {extra}")
            continue
        if kind == "v":
            if "security_invoker=true" not in options:
                found.append(f"{name}: a view of tenant rows without security_invoker")
            continue
        if kind in ("m", "f"):
            found.append(f"{name}: tenant rows in a relation RLS cannot protect ({kind})")
            continue
        if not enabled:
            found.append(f"{name}: row-level security not enabled")
        if not forced:
            found.append(f"{name}: row-level security not forced")
    for table, policy, permissive, policy_roles, command, qual, check in conn.execute(
        "SELECT tablename, policyname, permissive, roles::text[], cmd, qual, with_check"
        " FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2"
    ):
        if set(policy_roles) <= {roles["system"]}:
            declared = _declared(SYSTEM_WRITES, service, table, policy)
            if command != "SELECT" and (declared is None or declared[1:] != (command, qual)):
                found.append(f"{table}.{policy}: the system role may only read ({command})")
            continue
        if (service, table, policy) in open_policies:
            allowed = declared_columns.get((service, table))
            if allowed is None or _columns(conn, table) - allowed:
                found.append(
                    f"{table}.{policy}: an open policy on a table whose columns are"
                    " not declared free of personal data"
                )
            continue
        if permissive != "PERMISSIVE":
            continue  # a restrictive policy only narrows what the permissive ones allow
        uses = command in ("ALL", "SELECT", "UPDATE", "DELETE")
        checks = command in ("ALL", "INSERT", "UPDATE")
        if uses and qual != SESSION_TENANT:
            found.append(
                f"{table}.{policy}: USING {qual} does not compare tenant_id with the"
                " session's tenant"
            )
        if checks and (check if check is not None else qual) != SESSION_TENANT:
            found.append(
                f"{table}.{policy}: WITH CHECK {check} does not compare tenant_id"
                " with the session's tenant"
            )
    return found
