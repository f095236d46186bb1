"""The subject keyring in privacy's database: get or create, and shred (crypto-shredding)."""
from shared.crypto import MasterKey, new_data_key


class Keyring:
    """A KeyProvider over the worker's transaction (the tenant is already set for RLS)."""

    def __init__(self, conn, master_key: MasterKey):
        self.conn = conn
        self.master_key = master_key

    def get_key(self, tenant_id, subject_id, create=False):
        if create:
            # insert-if-absent: two first uses at once both end with the same key
            wrapped = self.master_key.wrap(new_data_key(), tenant_id, subject_id)
            self.conn.execute(
                "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, master_key_id)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (tenant_id, subject_id, wrapped, self.master_key.key_id))
        row = self.conn.execute(
            "SELECT wrapped_key FROM subject_keys WHERE tenant_id = %s AND subject_id = %s",
            (tenant_id, subject_id)).fetchone()
        if row is None or row[0] is None:
            return None  # never created, or shredded: the tombstone stays
        return self.master_key.unwrap(bytes(row[0]), tenant_id, subject_id)

    def shred(self, tenant_id, subject_id):
        """Destroy the subject's key; True the first time, False when already gone."""
        row = self.conn.execute(
            "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, shredded_at)"
            " VALUES (%s, %s, NULL, now()) ON CONFLICT (tenant_id, subject_id) DO UPDATE"
            " SET wrapped_key = NULL, master_key_id = NULL, shredded_at = now()"
            " WHERE subject_keys.shredded_at IS NULL RETURNING 1",
            (tenant_id, subject_id)).fetchone()
        return row is not None
