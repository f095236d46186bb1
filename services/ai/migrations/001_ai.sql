-- What the per-tenant models learn from, so a restart (or another instance) rebuilds them.
-- Every text column holds a sealed entry ({"s": subject, "n": nonce, "c": ciphertext}, the
-- format of an envelope's pii) under its author's key: once the key is shredded the text
-- opens as "[erased]" and is never learned again. No plaintext personal data here.
--
-- Each learnable field carries the stream version that set it (last writer wins), so
-- events may arrive in any order. `txid` + `revision` let every instance catch up with
-- committed changes in commit order (read only below the oldest running transaction, as
-- the outbox relay does).
CREATE SEQUENCE ai_revision;

CREATE TABLE ai_tickets (
    tenant_id     uuid NOT NULL,
    stream_id     text NOT NULL,
    ticket_id     text,
    requester_id  text,
    title         jsonb,
    title_v       integer NOT NULL DEFAULT 0,
    description   jsonb,
    description_v integer NOT NULL DEFAULT 0,
    category      text,
    category_v    integer NOT NULL DEFAULT 0,
    priority      text,
    priority_v    integer NOT NULL DEFAULT 0,
    resolution    jsonb,
    resolution_v  integer NOT NULL DEFAULT 0,
    txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    revision      bigint NOT NULL DEFAULT nextval('ai_revision'),
    PRIMARY KEY (tenant_id, stream_id)
);
CREATE UNIQUE INDEX ai_tickets_ticket ON ai_tickets (tenant_id, ticket_id);
CREATE INDEX ai_tickets_changes ON ai_tickets (tenant_id, txid, revision);
CREATE INDEX ai_tickets_requester ON ai_tickets (tenant_id, requester_id);

CREATE TABLE ai_comments (
    tenant_id  uuid NOT NULL,
    stream_id  text NOT NULL,
    comment_id text NOT NULL,
    author_id  text NOT NULL,
    internal   boolean NOT NULL DEFAULT false,
    body       jsonb NOT NULL,
    body_v     integer NOT NULL,
    added_v    integer NOT NULL,
    PRIMARY KEY (tenant_id, stream_id, comment_id)
);
CREATE INDEX ai_comments_author ON ai_comments (tenant_id, author_id);

-- Names and emails seen in events' pii, kept sealed as they came, for the redactor.
CREATE TABLE ai_people (
    tenant_id  uuid NOT NULL,
    subject_id text NOT NULL,
    field      text NOT NULL,
    sealed     jsonb NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, field)
);

-- Subjects purged here: every instance forgets them when it catches up.
CREATE TABLE ai_erasures (
    tenant_id  uuid NOT NULL,
    subject_id text NOT NULL,
    request_id text,
    txid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    revision   bigint NOT NULL DEFAULT nextval('ai_revision'),
    PRIMARY KEY (tenant_id, subject_id)
);
CREATE INDEX ai_erasures_changes ON ai_erasures (tenant_id, txid, revision);

SELECT isolate_tenants('ai_tickets', 'ai_comments', 'ai_people', 'ai_erasures');

GRANT SELECT, INSERT, UPDATE, DELETE ON ai_tickets, ai_comments, ai_people, ai_erasures TO {{app}};
GRANT USAGE ON SEQUENCE ai_revision TO {{app}};
