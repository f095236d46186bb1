-- The audit log is the record of every crypto-shredding outside privacy's own database: a
-- privacy database restored from a backup asks it which subjects to shred again. This index
-- serves that read across tenants (the system role), shredding entries only.
CREATE INDEX audit_entry_shredded ON audit_entry (tenant_id, seq)
    WHERE event_type = 'privacy.subject_key_shredded';
