-- Tickets brought in by the bulk import (POST /v1/tickets/import), by the other help desk's id
-- (the import's idempotency key): a line whose external id is here writes nothing again.
-- Written in the transaction that appends the ticket's events; never rebuilt from events.
CREATE TABLE ticket_imports (
    tenant_id   uuid NOT NULL,
    external_id text NOT NULL,
    ticket_id   uuid NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, external_id)
);

SELECT isolate_tenants('ticket_imports');
GRANT SELECT, INSERT ON ticket_imports TO {{app}};
