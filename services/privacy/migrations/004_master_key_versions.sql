-- Versioned master keys: each wrapped key records the master key version that wrapped it
-- (NULL: wrapped before versions, found by master_key_id). `dzdesk-keys rotate-master` finds
-- the keys to re-wrap as the system role (ids and versions only, never a wrapped key), then
-- re-wraps each inside its tenant's transaction as the app role. The restore reconciliation
-- reads the same columns to find live keys of subjects the audit log says were shredded.
ALTER TABLE subject_keys ADD COLUMN master_key_version integer CHECK (master_key_version > 0);
ALTER TABLE privacy_requests ADD COLUMN export_key_version integer CHECK (export_key_version > 0);

CREATE INDEX subject_keys_live_version ON subject_keys (master_key_version) WHERE shredded_at IS NULL;

CREATE POLICY system_keys ON subject_keys FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id, subject_id, master_key_version, shredded_at) ON subject_keys TO {{system}};
GRANT SELECT (type, export_key_version) ON privacy_requests TO {{system}};
