-- Webhooks, their deliveries and the event feed. Nothing here is personal: a payload holds
-- the ids, slugs and instants of an event (services/integrations/payloads.py), never its
-- sealed pii, and a webhook's secret is stored sealed under a key derived from the master key.

CREATE TABLE webhooks (
    tenant_id   uuid NOT NULL,
    webhook_id  uuid NOT NULL,
    url         text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- exact event types, `<service>.*` or `*`
    event_types text[] NOT NULL,
    secret      bytea NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    disabled_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, webhook_id)
);
CREATE INDEX webhooks_listing ON webhooks (tenant_id, created_at, webhook_id);

-- The tenant's events as integrators see them, in the order this service committed them:
-- read by (txid, seq) below the oldest running transaction, as the outbox relay reads.
CREATE TABLE feed (
    tenant_id   uuid NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id    uuid NOT NULL,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     jsonb NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX feed_order ON feed (tenant_id, txid, seq);

-- One message to one endpoint; a redelivery is a row of its own with the same message_id
-- (the `webhook-id` header). The dispatcher claims due rows (next_attempt_at) per endpoint.
CREATE TABLE deliveries (
    tenant_id       uuid NOT NULL,
    delivery_id     uuid NOT NULL,
    webhook_id      uuid NOT NULL,
    message_id      uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    redelivery_of   uuid,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    response_code   integer,
    duration_ms     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    PRIMARY KEY (tenant_id, delivery_id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks ON DELETE CASCADE
);
CREATE UNIQUE INDEX deliveries_once ON deliveries (tenant_id, webhook_id, event_id)
    WHERE redelivery_of IS NULL;
CREATE INDEX deliveries_due ON deliveries (tenant_id, webhook_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX deliveries_listing ON deliveries (tenant_id, webhook_id, created_at, delivery_id);

SELECT isolate_tenants('webhooks', 'feed', 'deliveries');

GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks, deliveries TO {{app}};
GRANT SELECT, INSERT ON feed TO {{app}};

-- The dispatcher finds due deliveries in every tenant: ids, states and instants only; it
-- claims and records each one in a transaction of the delivery's tenant.
CREATE POLICY system_dispatch_read ON webhooks FOR SELECT TO {{system}} USING (true);
CREATE POLICY system_dispatch_read ON deliveries FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id, webhook_id, enabled) ON webhooks TO {{system}};
GRANT SELECT (tenant_id, delivery_id, webhook_id, status, next_attempt_at) ON deliveries
    TO {{system}};
