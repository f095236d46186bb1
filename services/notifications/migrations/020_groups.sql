-- Ticketing's groups as its events announce them (ids only), and each ticket's group: an
-- unassigned ticket of a group tells the group's members.

CREATE TABLE notify_group_members (
    tenant_id uuid NOT NULL,
    group_id  text NOT NULL,
    user_id   text NOT NULL,
    member    boolean NOT NULL,
    -- the group stream's version this row reflects: older events never win
    version   integer NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id)
);

ALTER TABLE notify_tickets ADD COLUMN group_id text;

SELECT isolate_tenants('notify_group_members');
GRANT SELECT, INSERT, UPDATE, DELETE ON notify_group_members TO {{app}};
