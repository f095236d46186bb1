-- Who may be named on a ticket (requester, assignee, watcher): identity's members, kept by its
-- events. Ids and roles only; an erased member keeps a row without roles.

CREATE TABLE members (
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    roles     text[] NOT NULL,
    -- identity's tenant stream version this row reflects: older events never win
    version   integer NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

SELECT isolate_tenants('members');
GRANT SELECT, INSERT, UPDATE ON members TO {{app}};
