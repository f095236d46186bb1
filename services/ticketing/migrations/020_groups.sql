-- Groups (teams of agents), the routing rules that send tickets to them, and the queues.

-- a group as its stream (group-<id>) leaves it: rebuilt from the streams
CREATE TABLE groups (
    tenant_id   uuid NOT NULL,
    group_id    uuid NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    members     uuid[] NOT NULL DEFAULT '{}',
    version     integer NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
CREATE INDEX groups_by_name ON groups (tenant_id, lower(name));
CREATE INDEX groups_by_member ON groups USING gin (members);

-- round robin: the member each group's routing picked last, written with the routed events
CREATE TABLE group_cursors (
    tenant_id      uuid NOT NULL,
    group_id       uuid NOT NULL,
    last_member_id uuid,
    PRIMARY KEY (tenant_id, group_id)
);

-- the tenant's ordered routing rules, as the routing-rules stream last set them
CREATE TABLE routing_rules (
    tenant_id  uuid PRIMARY KEY,
    rules      jsonb NOT NULL,
    version    integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

SELECT isolate_tenants('groups', 'group_cursors', 'routing_rules');
GRANT SELECT, INSERT, UPDATE, DELETE ON groups, group_cursors TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON routing_rules TO {{app}};

-- a queue's order: the earliest SLA deadline still running (none: last), then priority
ALTER TABLE tickets
    ADD COLUMN queue_due timestamptz GENERATED ALWAYS AS (
        coalesce(least(sla_first_response_due, sla_resolution_due),
                 '9999-12-31 00:00:00+00'::timestamptz)
    ) STORED,
    ADD COLUMN priority_rank smallint GENERATED ALWAYS AS (
        CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
    ) STORED;
CREATE INDEX tickets_group_queue ON tickets (tenant_id, group_id, queue_due, priority_rank, ticket_id)
    WHERE status IN ('new', 'in_progress', 'pending');
CREATE INDEX tickets_assignee_queue
    ON tickets (tenant_id, assignee_id, queue_due, priority_rank, ticket_id)
    WHERE status IN ('new', 'in_progress', 'pending');
