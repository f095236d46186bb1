-- Change approvals: a ticket's planned window, risk and approval state (ids, slugs and instants
-- only, never an approver's comment) and each tenant's approval policy per ticket type, as
-- its stream (approval-policy) last set it. Both rebuilt from the streams.
ALTER TABLE tickets ADD COLUMN change jsonb;

CREATE TABLE approval_policies (
    tenant_id  uuid PRIMARY KEY,
    policies   jsonb NOT NULL,
    version    integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

SELECT isolate_tenants('approval_policies');
GRANT SELECT, INSERT, UPDATE, DELETE ON approval_policies TO {{app}};
