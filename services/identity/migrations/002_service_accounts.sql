-- Service accounts: programs of a tenant with client credentials (RFC 6749 section 4.4).
-- Projections of the `service-account-<id>` streams; a secret is kept only as its SHA-256
-- (256 random bits need no slow KDF), so a database dump yields no usable credential.

CREATE TABLE service_accounts (
    tenant_id    uuid NOT NULL,
    account_id   uuid NOT NULL,
    name         text NOT NULL,
    roles        text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX service_accounts_created ON service_accounts (tenant_id, created_at, account_id);

CREATE TABLE service_account_secrets (
    tenant_id   uuid NOT NULL,
    secret_id   uuid NOT NULL,
    account_id  uuid NOT NULL,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, secret_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES service_accounts (tenant_id, account_id)
);
CREATE INDEX service_account_secrets_account ON service_account_secrets (tenant_id, account_id);

SELECT isolate_tenants('service_accounts', 'service_account_secrets');

GRANT SELECT, INSERT, UPDATE ON service_accounts, service_account_secrets TO {{app}};
