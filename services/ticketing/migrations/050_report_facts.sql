-- Desk reports' read model: one row of facts per ticket (services/ticketing/reports.py), kept
-- with the tickets row after every append and rebuilt with it from the streams. Ids, slugs and
-- instants only: no personal text.

CREATE TABLE ticket_report_facts (
    tenant_id                  uuid NOT NULL,
    ticket_id                  uuid NOT NULL,
    type                       text NOT NULL,
    priority                   text NOT NULL,
    group_id                   text,
    category                   text,
    status                     text NOT NULL,
    opened_at                  timestamptz NOT NULL,
    first_responded_at         timestamptz,
    -- the latest resolution; NULL again once reopened
    resolved_at                timestamptz,
    -- when it last left new/in_progress/pending for good so far (NULL while active)
    left_active_at             timestamptz,
    -- [[since, status], ...] in order: the backlog at any instant
    statuses                   jsonb NOT NULL,
    -- when each SLA target was (or, while its clock runs, will be) breached; NULL when its
    -- clock stopped, paused or was met before reaching the target
    first_response_breached_at timestamptz,
    resolution_breached_at     timestamptz,
    version                    integer NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
);
CREATE INDEX ticket_report_facts_opened ON ticket_report_facts (tenant_id, opened_at);
CREATE INDEX ticket_report_facts_resolved ON ticket_report_facts (tenant_id, resolved_at);
CREATE INDEX ticket_report_facts_responded ON ticket_report_facts (tenant_id, first_responded_at);

SELECT isolate_tenants('ticket_report_facts');
GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_report_facts TO {{app}};
