-- What the SLA clocks need of each ticket's stream (priority, status segments, first
-- response, recorded alerts; no text), so that a read shows the clocks without replaying it.
ALTER TABLE tickets ADD COLUMN sla_history jsonb;
