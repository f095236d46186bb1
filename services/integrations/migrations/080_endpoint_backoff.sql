-- A delivery waiting for its retry holds its endpoint's other deliveries back: a failing
-- endpoint gets one attempt per step of the schedule (its retrying delivery), not one per
-- message, and is disabled once that delivery's schedule is spent, however long its backlog.
-- The dispatcher finds an endpoint's retrying delivery by this index, reading `attempts`.
CREATE INDEX deliveries_retrying ON deliveries (tenant_id, webhook_id, next_attempt_at)
    WHERE status = 'pending' AND attempts > 0;

GRANT SELECT (attempts) ON deliveries TO {{system}};
