-- Webhooks (issue 5).
-- The outbox keeps the payload exactly as written (json, not jsonb), so the bytes signed and sent
-- keep the seed's key order: {"event", "timestamp", "data"}.
ALTER TABLE webhook_event ALTER COLUMN payload TYPE json USING CAST(payload AS json);

-- Attempts in the current round: a delivery fails after 1 + retry_count of them; a resend by hand
-- starts a new round (attempt_count keeps counting every attempt ever made).
ALTER TABLE webhook_delivery ADD COLUMN round_attempts integer NOT NULL DEFAULT 0;
