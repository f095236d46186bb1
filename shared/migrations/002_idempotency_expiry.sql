-- Idempotency records live 24 hours (shared/idempotency.py): the system role, which spans
-- tenants, may see and delete only records older than that, and nothing else of the table.
GRANT SELECT (created_at), DELETE ON idempotency_keys TO {{system}};
CREATE POLICY system_expiry_read ON idempotency_keys FOR SELECT TO {{system}}
    USING (created_at < now() - interval '24 hours');
CREATE POLICY system_expiry ON idempotency_keys FOR DELETE TO {{system}}
    USING (created_at < now() - interval '24 hours');
