-- Files on tickets (read model of ticketing.attachment_added / attachment_removed). The bytes
-- are in Azure Blob Storage, encrypted under the uploader's subject key (shared/stream_cipher.py);
-- this row says where, and what they are.

CREATE TABLE ticket_attachments (
    tenant_id     uuid NOT NULL,
    ticket_id     uuid NOT NULL,
    attachment_id uuid NOT NULL,
    -- the comment it rides on, if any; files of an internal comment are staff's only
    comment_id    uuid,
    internal      boolean NOT NULL DEFAULT false,
    uploaded_by   text NOT NULL,
    -- the uploader's personal data in clear for the API, as comment bodies are (the event
    -- holds it sealed); purge_subject deletes the row with the blob
    file_name     text NOT NULL,
    size          bigint NOT NULL,
    content_type  text NOT NULL,
    -- clean, infected or not_scanned (services/ticketing/scanning.py)
    scan          text NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, attachment_id)
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (tenant_id, ticket_id, created_at);
CREATE INDEX ticket_attachments_uploader ON ticket_attachments (tenant_id, uploaded_by);

SELECT isolate_tenants('ticket_attachments');

GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_attachments TO {{app}};
