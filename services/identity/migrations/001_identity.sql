-- Identity read models (projections of the tenant, user and session streams), the sign-in
-- directory, sessions with their refresh tokens, pending Microsoft sign-ins and signing keys.

-- Tenant tables: standard RLS, keys lead with tenant_id.
CREATE TABLE tenants (
    tenant_id  uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('organization', 'personal')),
    name       text NOT NULL,
    provider   text NOT NULL,
    version    integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- name and email are plaintext the API serves; purge_subject replaces them by '[erased]'.
CREATE TABLE users (
    tenant_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    name            text,
    email           text,
    roles           text[] NOT NULL,
    provider        text NOT NULL,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    erased_at       timestamptz,
    PRIMARY KEY (tenant_id, user_id)
);

-- A session is one refresh-token family: every refresh token it ever issued is kept (hashed),
-- so presenting a rotated one is recognised as reuse and ends the session.
CREATE TABLE sessions (
    tenant_id      uuid NOT NULL,
    session_id     uuid NOT NULL,
    user_id        uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE refresh_tokens (
    tenant_id  uuid NOT NULL,
    token_hash text NOT NULL,
    session_id uuid NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, session_id) ON DELETE CASCADE
);

-- Platform rows (tenant_id = the platform tenant): one key ring for every tenant, and the
-- state/nonce/PKCE verifier of Microsoft sign-ins in flight, which precede any tenant.
CREATE TABLE signing_keys (
    tenant_id   uuid NOT NULL,
    kid         text NOT NULL,
    state       text NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    sealed_key  bytea NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);

CREATE TABLE login_flows (
    tenant_id  uuid NOT NULL,
    state      text NOT NULL,
    flow       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, state)
);

SELECT isolate_tenants('tenants', 'users', 'sessions', 'refresh_tokens', 'signing_keys',
                             'login_flows');

-- The sign-in directory: which tenant and user an external account or organization belongs
-- to, needed BEFORE the tenant is known. Only keyed hashes and opaque ids live here. Any
-- tenant may look a hash up; a row is written or deleted only by its own tenant.
CREATE TABLE external_identities (
    account_hash text PRIMARY KEY,
    provider     text NOT NULL,
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    UNIQUE (tenant_id, user_id)
);

CREATE TABLE organizations (
    org_hash  text PRIMARY KEY,
    provider  text NOT NULL,
    tenant_id uuid NOT NULL UNIQUE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['external_identities', 'organizations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY lookup ON %I FOR SELECT USING (true)', t);
        EXECUTE format($p$CREATE POLICY own_insert ON %I FOR INSERT
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
        EXECUTE format($p$CREATE POLICY own_delete ON %I FOR DELETE
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON tenants, users, sessions, refresh_tokens TO {{app}};
GRANT SELECT, INSERT, UPDATE, DELETE ON signing_keys, login_flows TO {{app}};
GRANT SELECT, INSERT, DELETE ON external_identities, organizations TO {{app}};
