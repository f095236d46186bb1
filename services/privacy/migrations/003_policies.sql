-- Privacy policy versions are platform-wide (no tenant: every tenant's users see the same
-- text); each user's acceptance belongs to their tenant.
CREATE TABLE policy_versions (
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    version      text PRIMARY KEY,
    title        text NOT NULL,
    summary      text,
    url          text,
    published_by text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON policy_versions TO {{app}};

CREATE TABLE policy_acceptances (
    tenant_id   uuid NOT NULL,
    user_id     text NOT NULL,
    version     text NOT NULL REFERENCES policy_versions (version),
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, version)
);
SELECT isolate_tenants('policy_acceptances');
GRANT SELECT, INSERT ON policy_acceptances TO {{app}};
