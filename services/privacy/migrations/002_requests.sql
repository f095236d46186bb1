-- Data-subject requests (erasure, export, rectification) as durable sagas, their receipts,
-- encrypted export parts and bundles, and legal holds. No plaintext personal data here:
-- rectified values are sealed under the subject key, export data under a per-request key.
CREATE TABLE privacy_requests (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    type          text NOT NULL CHECK (type IN ('erasure', 'export', 'rectification')),
    subject_id    text NOT NULL,
    requested_by  text NOT NULL,
    status        text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    saga          jsonb NOT NULL,
    pii           jsonb,
    export_key    bytea,
    next_wakeup   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- one running request per (tenant, type, subject): a duplicate joins the running one
CREATE UNIQUE INDEX privacy_requests_one_active
    ON privacy_requests (tenant_id, type, subject_id) WHERE active;
CREATE INDEX privacy_requests_due ON privacy_requests (next_wakeup) WHERE next_wakeup IS NOT NULL;
CREATE INDEX privacy_requests_subject ON privacy_requests (tenant_id, subject_id);

CREATE TABLE privacy_receipts (
    tenant_id   uuid NOT NULL,
    request_id  uuid NOT NULL,
    participant text NOT NULL,
    attempt     integer NOT NULL,
    receipt     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id, participant)
);

CREATE TABLE export_parts (
    tenant_id   uuid NOT NULL,
    request_id  uuid NOT NULL,
    participant text NOT NULL,
    blob        bytea NOT NULL,
    PRIMARY KEY (tenant_id, request_id, participant)
);

CREATE TABLE export_bundles (
    tenant_id  uuid NOT NULL,
    request_id uuid NOT NULL,
    blob       bytea NOT NULL,
    manifest   jsonb NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);

CREATE TABLE legal_holds (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    subject_id  text NOT NULL,
    reason      text NOT NULL,
    placed_by   text NOT NULL,
    placed_at   timestamptz NOT NULL DEFAULT now(),
    released_by text,
    released_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX legal_holds_subject ON legal_holds (tenant_id, subject_id) WHERE released_at IS NULL;

SELECT isolate_tenants('privacy_requests', 'privacy_receipts', 'export_parts',
                             'export_bundles', 'legal_holds');

-- the saga driver finds due sagas of every tenant (ids and times only), then works on each
-- inside that tenant's own transaction as the app role
CREATE POLICY system_due ON privacy_requests FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id, id, next_wakeup) ON privacy_requests TO {{system}};

GRANT SELECT, INSERT, UPDATE ON privacy_requests, legal_holds TO {{app}};
GRANT SELECT, INSERT, UPDATE ON privacy_receipts TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON export_parts, export_bundles TO {{app}};
