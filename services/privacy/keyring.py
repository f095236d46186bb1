"""The subject keyring in privacy's database: get or create, re-wrap, shred (crypto-shredding)."""

from shared.crypto import MasterKeyRing, new_data_key


class Keyring:
    """A KeyProvider over the worker's transaction (the tenant is already set for RLS)."""

    def __init__(self, conn, master_keys: MasterKeyRing):
        self.conn = conn
        self.master_keys = master_keys

    def get_key(self, tenant_id, subject_id, create=False):
        if create:
            # insert-if-absent: two first uses at once both end with the same key
            version, wrapped = self.master_keys.wrap(new_data_key(), tenant_id, subject_id)
            self.conn.execute(
                "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, master_key_id,"
                " master_key_version) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (tenant_id, subject_id, wrapped, self.master_keys.current.key_id, version),
            )
        row = self.conn.execute(
            "SELECT wrapped_key, master_key_version, master_key_id FROM subject_keys"
            " WHERE tenant_id = %s AND subject_id = %s",
            (tenant_id, subject_id),
        ).fetchone()
        if row is None or row[0] is None:
            return None  # never created, or shredded: the tombstone stays
        return self.master_keys.unwrap(bytes(row[0]), tenant_id, subject_id, row[1], row[2])

    def rewrap(self, tenant_id, subject_ids):
        """Re-wrap the live keys of these subjects under the current master key; how many moved."""
        target = self.master_keys.current_version
        rows = self.conn.execute(
            "SELECT subject_id, wrapped_key, master_key_version, master_key_id FROM subject_keys"
            " WHERE subject_id = ANY(%s) AND shredded_at IS NULL"
            " AND master_key_version IS DISTINCT FROM %s FOR UPDATE",
            (list(subject_ids), target),
        ).fetchall()
        for subject_id, wrapped, version, key_id in rows:
            data_key = self.master_keys.unwrap(
                bytes(wrapped), tenant_id, subject_id, version, key_id
            )
            _, rewrapped = self.master_keys.wrap(data_key, tenant_id, subject_id)
            self.conn.execute(
                "UPDATE subject_keys SET wrapped_key = %s, master_key_version = %s,"
                " master_key_id = %s WHERE subject_id = %s",
                (rewrapped, target, self.master_keys.current.key_id, subject_id),
            )
        return len(rows)

    def shred(self, tenant_id, subject_id):
        """Destroy the subject's key; True the first time, False when already gone."""
        row = self.conn.execute(
            "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, shredded_at)"
            " VALUES (%s, %s, NULL, now()) ON CONFLICT (tenant_id, subject_id) DO UPDATE"
            " SET wrapped_key = NULL, master_key_id = NULL, master_key_version = NULL,"
            " shredded_at = now()"
            " WHERE subject_keys.shredded_at IS NULL RETURNING 1",
            (tenant_id, subject_id),
        ).fetchone()
        return row is not None
