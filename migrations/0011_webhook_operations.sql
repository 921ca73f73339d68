-- Webhooks you can run for years (issue 13): secrets at rest, rotation, sustained-failure
-- disabling, the event feed, custom headers and a rate per webhook.

-- Secrets are Fernet tokens under a key derived from SECRET_KEY (fulfil.webhooks.secrets);
-- `secret_key_id` names that key, so a SECRET_KEY rotation re-encrypts what an old key sealed.
-- The plaintext `secret` column is read only until the sweep has sealed it (then set NULL): that
-- needs SECRET_KEY, which SQL does not have.
ALTER TABLE webhook
    ADD COLUMN secret_sealed text,
    ADD COLUMN secret_key_id text,
    -- During a rotation's grace the previous secret still signs, beside the new one.
    ADD COLUMN previous_secret_sealed text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN secret_rotated_at timestamptz,
    -- When it was last enabled (failures before it do not count towards disabling it again),
    -- when it was disabled, and since when its deliveries were all failing.
    ADD COLUMN enabled_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN failing_since timestamptz,
    -- Its last success, at most a second stale (written once a second at most, see delivery.record):
    -- an index of delivered rows to find it would cost every delivery an index entry.
    ADD COLUMN last_delivered_at timestamptz,
    -- Custom headers may carry credentials (a gateway's Authorization): their JSON is sealed like
    -- the secret, and only their names are shown.
    ADD COLUMN headers_sealed text,
    ADD COLUMN header_names text[] NOT NULL DEFAULT '{}',
    ADD COLUMN max_per_second integer CHECK (max_per_second BETWEEN 1 AND 10000);
UPDATE webhook SET enabled_at = updated_at;
CREATE INDEX webhook_plaintext_secret_idx ON webhook (id) WHERE secret IS NOT NULL;

-- The event feed's order: a position given when the relay marks the event relayed, under one
-- advisory lock, so positions become visible in order and a reader's cursor never skips one
-- that commits late (event ids are taken at insert time, in whatever order transactions commit).
CREATE SEQUENCE webhook_event_feed_seq;
ALTER TABLE webhook_event ADD COLUMN feed_position bigint;
UPDATE webhook_event e SET feed_position = o.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM webhook_event WHERE relayed_at IS NOT NULL) o
WHERE e.id = o.id;
SELECT setval('webhook_event_feed_seq', coalesce((SELECT max(feed_position) FROM webhook_event), 0) + 1, false);
CREATE UNIQUE INDEX webhook_event_feed_idx ON webhook_event (feed_position) WHERE feed_position IS NOT NULL;

-- Recover and the sustained-failure check read a webhook's failed deliveries by when they ended.
CREATE INDEX webhook_delivery_failed_idx ON webhook_delivery (webhook_id, finished_at) WHERE status = 'failed';
