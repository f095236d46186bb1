-- What the notifications service keeps: whom it may reach (members, their email sealed under
-- their own key as identity's event carried it), the tickets it notifies about (who is on
-- them; the title sealed under the requester's key as ticketing sealed it), each person's
-- preferences, the notices (the in-platform list) and the mail outbox the sender works
-- through. No plaintext personal data: a shredded key leaves nothing readable here.

CREATE TABLE notify_members (
    tenant_id uuid NOT NULL,
    user_id   text NOT NULL,
    roles     text[] NOT NULL DEFAULT '{}',
    roles_v   integer NOT NULL DEFAULT 0,
    email     jsonb,
    email_v   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE notify_tickets (
    tenant_id    uuid NOT NULL,
    stream_id    text NOT NULL,
    ticket_id    text NOT NULL,
    requester_id text,
    assignee_id  text,
    assignee_v   integer NOT NULL DEFAULT 0,
    watchers     text[] NOT NULL DEFAULT '{}',
    title        jsonb,
    title_v      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, stream_id)
);
CREATE INDEX notify_tickets_requester ON notify_tickets (tenant_id, requester_id);

-- A missing row is the default: every channel on.
CREATE TABLE notify_preferences (
    tenant_id uuid NOT NULL,
    user_id   text NOT NULL,
    kind      text NOT NULL,
    email     boolean NOT NULL,
    platform  boolean NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind)
);

-- One notice per event and recipient (its id derives from both: a redelivered event adds
-- nothing). `data` holds labels and public text only (a status, a policy's title).
CREATE TABLE notify_notices (
    tenant_id  uuid NOT NULL,
    notice_id  uuid NOT NULL,
    user_id    text NOT NULL,
    kind       text NOT NULL,
    ticket_id  text,
    event_id   uuid NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    platform   boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz,
    PRIMARY KEY (tenant_id, notice_id)
);
CREATE INDEX notify_notices_user ON notify_notices (tenant_id, user_id, created_at DESC, notice_id);

-- The mail of a notice: queued until sent (at least once: a crash after the SMTP relay took
-- it sends it again, with the same Message-ID), dropped (erased, no address) or failed.
CREATE TABLE notify_outbox (
    tenant_id  uuid NOT NULL,
    notice_id  uuid NOT NULL,
    user_id    text NOT NULL,
    state      text NOT NULL DEFAULT 'queued'
               CHECK (state IN ('queued', 'sent', 'dropped', 'failed')),
    attempts   integer NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL DEFAULT now(),
    last_error text,
    done_at    timestamptz,
    PRIMARY KEY (tenant_id, notice_id)
);
CREATE INDEX notify_outbox_due ON notify_outbox (next_at) WHERE state = 'queued';
CREATE INDEX notify_outbox_user ON notify_outbox (tenant_id, user_id);

-- Subjects purged here: identity's events about them, redelivered or late, add nothing again.
CREATE TABLE notify_erasures (
    tenant_id  uuid NOT NULL,
    subject_id text NOT NULL,
    request_id text,
    erased_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subject_id)
);

SELECT isolate_tenants(
    'notify_members', 'notify_tickets', 'notify_preferences', 'notify_notices', 'notify_outbox',
    'notify_erasures'
);

GRANT SELECT, INSERT, UPDATE, DELETE ON notify_members, notify_tickets, notify_preferences,
    notify_notices, notify_outbox, notify_erasures TO {{app}};

-- The sender finds due mail in every tenant, then works on each in that tenant's own
-- transaction; a policy notice reaches every tenant that has members. Both only read, and
-- only the columns that say where to look.
CREATE POLICY system_due_read ON notify_outbox FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id, notice_id, state, next_at) ON notify_outbox TO {{system}};
CREATE POLICY system_tenants_read ON notify_members FOR SELECT TO {{system}} USING (true);
GRANT SELECT (tenant_id) ON notify_members TO {{system}};
