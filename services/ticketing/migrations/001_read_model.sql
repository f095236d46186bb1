-- Ticketing read models (rebuilt from the ticket streams) and the per-tenant SLA policy.

CREATE TABLE tickets (
    tenant_id              uuid NOT NULL,
    ticket_id              uuid NOT NULL,
    type                   text NOT NULL,
    status                 text NOT NULL,
    pending_reason         text,
    priority               text NOT NULL,
    urgency                text NOT NULL,
    impact                 text NOT NULL,
    critical               boolean NOT NULL,
    category               text,
    title                  text NOT NULL,
    -- the requester's personal text in clear for the API; purge_subject overwrites it
    description            text NOT NULL DEFAULT '',
    requester_id           text NOT NULL,
    opened_by              text NOT NULL,
    assignee_id            text,
    group_id               text,
    watchers               text[] NOT NULL DEFAULT '{}',
    tags                   text[] NOT NULL DEFAULT '{}',
    links                  jsonb NOT NULL DEFAULT '[]',
    opened_at              timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    first_responded_at     timestamptz,
    resolved_at            timestamptz,
    closed_at              timestamptz,
    cancelled_at           timestamptz,
    reopen_count           integer NOT NULL DEFAULT 0,
    sla_first_response_due timestamptz,
    sla_resolution_due     timestamptz,
    -- the earliest SLA warning or breach still to record: what the SLA timer polls
    sla_next_at            timestamptz,
    version                integer NOT NULL,
    search                 tsvector GENERATED ALWAYS AS
                           (to_tsvector('simple', title || ' ' || description)) STORED,
    PRIMARY KEY (tenant_id, ticket_id)
);
CREATE INDEX tickets_recent ON tickets (tenant_id, opened_at DESC, ticket_id DESC);
CREATE INDEX tickets_requester ON tickets (tenant_id, requester_id);
CREATE INDEX tickets_assignee ON tickets (tenant_id, assignee_id);
CREATE INDEX tickets_status ON tickets (tenant_id, status, priority);
CREATE INDEX tickets_search ON tickets USING gin (search);
CREATE INDEX tickets_sla_next ON tickets (sla_next_at) WHERE sla_next_at IS NOT NULL;

CREATE TABLE ticket_comments (
    tenant_id  uuid NOT NULL,
    ticket_id  uuid NOT NULL,
    comment_id uuid NOT NULL,
    author_id  text NOT NULL,
    -- the author's personal text in clear for the API; purge_subject overwrites it
    body       text NOT NULL,
    internal   boolean NOT NULL,
    created_at timestamptz NOT NULL,
    edited_at  timestamptz,
    PRIMARY KEY (tenant_id, ticket_id, comment_id)
);
CREATE INDEX ticket_comments_author ON ticket_comments (tenant_id, author_id);

CREATE TABLE sla_policies (
    tenant_id  uuid PRIMARY KEY,
    policy     jsonb NOT NULL,
    version    integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

SELECT isolate_tenants('tickets', 'ticket_comments', 'sla_policies');

-- the SLA timer finds due tickets across tenants: ids and instants only, never text
CREATE POLICY system_sla_read ON tickets FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id, ticket_id, sla_next_at) ON tickets TO {{system}};

GRANT SELECT, INSERT, UPDATE, DELETE ON tickets, ticket_comments TO {{app}};
GRANT SELECT, INSERT, UPDATE ON sla_policies TO {{app}};
