-- The subject keyring: one AES-256 data key per (tenant, subject), wrapped by the master
-- key. Shredding drops the wrapped key and keeps a tombstone, so the subject never gets
-- a new key that could make old ciphertext look readable again.
CREATE TABLE subject_keys (
    tenant_id     uuid NOT NULL,
    subject_id    text NOT NULL,
    wrapped_key   bytea,
    master_key_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    shredded_at   timestamptz,
    PRIMARY KEY (tenant_id, subject_id),
    CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);
SELECT isolate_tenants('subject_keys');
GRANT SELECT, INSERT, UPDATE ON subject_keys TO {{app}};
