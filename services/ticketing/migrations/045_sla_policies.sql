-- Several SLA policies per tenant: the ordered conditional ones (the first whose match fits a
-- ticket applies) next to the default policy, which is now optional (none: the built-in one).
-- One version for both: the stream version of the tenant's sla-policy stream.
ALTER TABLE sla_policies ALTER COLUMN policy DROP NOT NULL;
ALTER TABLE sla_policies ADD COLUMN policies jsonb NOT NULL DEFAULT '[]';
