-- Platform tables every service has: the event store (also the outbox), snapshots,
-- the inbox of handled events, the relay checkpoint and HTTP idempotency keys.

-- Every tenant table of every service goes through this: RLS enabled and forced, and the
-- one policy that shows and accepts only the rows of the transaction's tenant.
CREATE FUNCTION isolate_tenants(VARIADIC tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION isolate_tenants(text[]) FROM PUBLIC;

CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY,
    -- the writing transaction: the relay reads only below the oldest running one
    txid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    tenant_id      uuid NOT NULL,
    stream_id      text NOT NULL,
    stream_version integer NOT NULL CHECK (stream_version > 0),
    event_id       uuid NOT NULL,
    event_type     text NOT NULL,
    envelope       jsonb NOT NULL,
    PRIMARY KEY (tenant_id, stream_id, stream_version)
);
CREATE UNIQUE INDEX events_event_id ON events (tenant_id, event_id);
CREATE UNIQUE INDEX events_position ON events (position);
CREATE INDEX events_relay_order ON events (txid, position);
CREATE INDEX events_tenant_type ON events (tenant_id, event_type, position);

CREATE TABLE snapshots (
    tenant_id      uuid NOT NULL,
    stream_id      text NOT NULL,
    stream_version integer NOT NULL,
    state          jsonb NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, stream_id)
);

CREATE TABLE inbox (
    tenant_id  uuid NOT NULL,
    consumer   text NOT NULL,
    event_id   uuid NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, consumer, event_id)
);

CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL,
    principal    text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    resource     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key, principal)
);

SELECT isolate_tenants('events', 'snapshots', 'inbox', 'idempotency_keys');

-- the relay and cross-tenant jobs read every tenant's events, and only read them
CREATE POLICY system_read ON events FOR SELECT TO {{system}} USING (true);

CREATE TABLE relay_checkpoint (
    name       text PRIMARY KEY,
    txid       xid8 NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO relay_checkpoint (name, txid, position) VALUES ('outbox', '0', 0);

GRANT SELECT, INSERT ON events, inbox TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots, idempotency_keys TO {{app}};
GRANT SELECT ON events TO {{system}};
GRANT SELECT, UPDATE ON relay_checkpoint TO {{system}};
