-- Custom ticket fields: the tenant's definitions (kept by the field-definitions stream) and
-- each ticket's values; an integrator's external id, unique per tenant.

CREATE TABLE ticket_fields (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL,
    type         text NOT NULL,
    options      text[] NOT NULL DEFAULT '{}',
    required_for text[] NOT NULL DEFAULT '{}',
    personal     boolean NOT NULL,
    -- the field-definitions stream version that last wrote the row
    version      integer NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

SELECT isolate_tenants('ticket_fields');
GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_fields TO {{app}};

-- plain values (ids, slugs, dates, numbers, flags)
ALTER TABLE tickets ADD COLUMN fields jsonb NOT NULL DEFAULT '{}';
-- personal and text values in clear for the API, as the description; purge_subject overwrites
ALTER TABLE tickets ADD COLUMN personal_fields jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tickets ADD COLUMN external_id text;
-- race-safe uniqueness: of two tickets written at once with one external id, one fails here
CREATE UNIQUE INDEX tickets_external_id ON tickets (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
