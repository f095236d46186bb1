-- The audit log: one hash chain per tenant, append-only in the database itself.
-- `envelope` holds the RFC 8785 canonical JSON of the envelope exactly as received (its pii
-- still ciphertext): the very bytes hashed, so verification hashes stored bytes and a replayed
-- line carries them verbatim. event_type and stream_id are derived from it, never written apart.
CREATE TABLE audit_entry (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    event_id    uuid NOT NULL,
    envelope    text NOT NULL,
    prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    event_type  text GENERATED ALWAYS AS (envelope::json ->> 'event_type') STORED,
    stream_id   text GENERATED ALWAYS AS (envelope::json ->> 'stream_id') STORED,
    PRIMARY KEY (tenant_id, seq)
);
-- redelivery is harmless: an event enters a tenant's chain once
CREATE UNIQUE INDEX audit_entry_event_id ON audit_entry (tenant_id, event_id);
CREATE INDEX audit_entry_event_type ON audit_entry (tenant_id, event_type, seq);
CREATE INDEX audit_entry_stream ON audit_entry (tenant_id, stream_id, seq);

-- Ed25519 signatures over (tenant, seq, hash); immutable like the entries they vouch for.
CREATE TABLE audit_checkpoint (
    tenant_id uuid NOT NULL,
    seq       bigint NOT NULL CHECK (seq > 0),
    hash      bytea NOT NULL CHECK (length(hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id    text NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- Every key that ever signed stays here (public part), so old checkpoints stay verifiable.
-- The private part is present only for generated keys, encrypted under a key derived from
-- DZDESK_MASTER_KEY; a key given in AUDIT_SIGNING_KEY is never stored.
CREATE TABLE audit_signing_key (
    key_id            text PRIMARY KEY,
    public_jwk        jsonb NOT NULL,
    encrypted_private bytea,
    created_at        timestamptz NOT NULL DEFAULT now()
);

SELECT isolate_tenants('audit_entry', 'audit_checkpoint');
-- the checkpoint scheduler finds tenants whose chain moved: a read across tenants
CREATE POLICY system_read ON audit_entry FOR SELECT TO {{system}} USING (true);
CREATE POLICY system_read ON audit_checkpoint FOR SELECT TO {{system}} USING (true);

-- Statement-level, so a change is refused even when RLS leaves it no row to touch.
CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_entry', 'audit_checkpoint', 'audit_signing_key'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()', t || '_append_only', t);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC, {{owner}}', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT ON audit_entry, audit_checkpoint, audit_signing_key TO {{app}};
GRANT SELECT ON audit_entry, audit_checkpoint TO {{system}};
