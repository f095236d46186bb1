-- The saga driver reports the time left before each request type's earliest deadline
-- (dzdesk_privacy_request_deadline_seconds). A deadline is fixed at submission: requested_at
-- + 30 days, and created_at is the submitting transaction's start, so the system role reads
-- which requests are open and when they were filed; nothing about whom they concern.
GRANT SELECT (active, created_at) ON privacy_requests TO {{system}};
