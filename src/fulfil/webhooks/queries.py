"""The webhooks' SQL: plain parameterised strings (`databases` style: `:name`, `CAST`, no `::`)."""

from __future__ import annotations

# A new delivery's Standard Webhooks message id: stable across its retries, unique everywhere.
NEW_MESSAGE_ID = "'msg_' || replace(CAST(gen_random_uuid() AS text), '-', '')"

WEBHOOK_COLUMNS = """
w.id, w.url, w.event_types, w.enabled, (w.secret IS NOT NULL) AS has_secret, w.timeout, w.retry_count,
w.disabled_reason, w.created_at, w.updated_at, last.status AS last_delivery_status, last.created_at AS last_delivery_at
"""

# The newest delivery of each webhook, for the list's "last delivery" column (index webhook_id, id DESC).
WEBHOOK_FROM = """
FROM webhook w
LEFT JOIN LATERAL (
    SELECT status, created_at FROM webhook_delivery WHERE webhook_id = w.id ORDER BY id DESC LIMIT 1
) last ON true
"""

LIST_WEBHOOKS = f"SELECT {WEBHOOK_COLUMNS} {WEBHOOK_FROM} ORDER BY w.id LIMIT :limit OFFSET :offset"
COUNT_WEBHOOKS = "SELECT count(*) FROM webhook"
SELECT_WEBHOOK = f"SELECT {WEBHOOK_COLUMNS} {WEBHOOK_FROM} WHERE w.id = :id"
SELECT_WEBHOOK_FOR_UPDATE = """
SELECT id, url, event_types, enabled, secret, timeout, retry_count FROM webhook WHERE id = :id FOR UPDATE
"""

SELECT_TARGET = "SELECT id, url, secret, timeout FROM webhook WHERE id = :id"

INSERT_WEBHOOK = """
INSERT INTO webhook (url, event_types, enabled, secret, timeout, retry_count)
VALUES (:url, :event_types, :enabled, :secret, :timeout, :retry_count)
RETURNING id
"""

# Enabling a webhook clears the reason it was disabled for (a 410 from its receiver).
UPDATE_WEBHOOK = """
UPDATE webhook
SET url = :url, event_types = :event_types, enabled = :enabled, secret = :secret, timeout = :timeout,
    retry_count = :retry_count, disabled_reason = CASE WHEN :enabled THEN NULL ELSE disabled_reason END,
    updated_at = now()
WHERE id = :id
"""

DELETE_WEBHOOK = "DELETE FROM webhook WHERE id = :id RETURNING id"

DISABLE_WEBHOOK = """
UPDATE webhook SET enabled = false, disabled_reason = :reason, updated_at = now() WHERE id = :id
"""

# The outbox: one event, written in the transaction of the change it announces.
INSERT_EVENT = """
INSERT INTO webhook_event (event_type, payload)
VALUES (:event_type, CAST(:payload AS json))
RETURNING id
"""

# The relay: claim a batch of unrelayed events (SKIP LOCKED: a nudge and the sweep never take the
# same rows), make one delivery per enabled webhook subscribed to the type, mark them relayed.
CLAIM_EVENTS = """
SELECT id FROM webhook_event WHERE relayed_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
"""

INSERT_DELIVERIES = f"""
INSERT INTO webhook_delivery (webhook_id, event_id, event_type, message_id, body, next_attempt_at)
SELECT w.id, e.id, e.event_type, {NEW_MESSAGE_ID}, CAST(e.payload AS text), now()
FROM webhook_event e
JOIN webhook w ON w.enabled AND e.event_type = ANY (w.event_types)
WHERE e.id = ANY (:ids)
ORDER BY e.id, w.id
ON CONFLICT (webhook_id, event_id) DO NOTHING
RETURNING id, webhook_id, message_id, attempt_count
"""

MARK_RELAYED = "UPDATE webhook_event SET relayed_at = now() WHERE id = ANY (:ids)"

# Deliveries whose attempt is overdue by more than the grace: their job was lost (Redis was down, the
# process died holding a claim). Those on time are left to the job already queued for them.
OVERDUE_DELIVERIES = """
SELECT id, webhook_id, message_id, attempt_count FROM webhook_delivery
WHERE status = 'pending' AND next_attempt_at <= now() - make_interval(secs => :grace)
ORDER BY next_attempt_at
LIMIT :limit
"""

# Claim due deliveries for one attempt: next_attempt_at moves a lease ahead, so a concurrent or
# duplicate job claims none of them and nothing is sent twice; if the process dies, the lease runs
# out and the sweep queues them again. A second early is tolerated (a retry's job may fire that
# much before the time the database computed).
CLAIM_DELIVERIES = """
UPDATE webhook_delivery d
SET next_attempt_at = now() + make_interval(secs => :lease)
FROM webhook w
WHERE d.id = ANY (:ids) AND w.id = d.webhook_id AND d.status = 'pending'
  AND d.next_attempt_at <= now() + interval '1 second'
RETURNING d.id, d.webhook_id, d.event_type, d.message_id, d.body, d.attempt_count, d.round_attempts,
          w.url, w.secret, w.timeout, w.retry_count, w.enabled
"""

RENEW_CLAIMS = """
UPDATE webhook_delivery SET next_attempt_at = now() + make_interval(secs => :lease)
WHERE id = ANY (:ids) AND status = 'pending'
"""

# Store one attempt per delivery (a JSON array of results); guarded by the attempt count, so a
# result is stored once even if two runs raced.
RECORD_ATTEMPTS = """
UPDATE webhook_delivery d
SET attempts = d.attempts || jsonb_build_array(r.attempt),
    attempt_count = d.attempt_count + 1,
    round_attempts = d.round_attempts + 1,
    status = r.status,
    next_attempt_at = CASE WHEN r.retry_in IS NULL THEN NULL ELSE now() + make_interval(secs => r.retry_in) END,
    last_status_code = r.status_code,
    last_error = r.error,
    finished_at = CASE WHEN r.status = 'pending' THEN NULL ELSE now() END
FROM jsonb_to_recordset(CAST(:results AS jsonb))
    AS r(id bigint, attempt_count integer, attempt jsonb, status text, retry_in float8, status_code integer, error text)
WHERE d.id = r.id AND d.attempt_count = r.attempt_count AND d.status = 'pending'
RETURNING d.id
"""

FAIL_UNSENT = """
UPDATE webhook_delivery SET status = 'failed', last_error = :error, next_attempt_at = NULL, finished_at = now()
WHERE id = ANY (:ids) AND status = 'pending'
"""

# A test event: logged like any delivery, attempted at once by the request itself (no event row).
INSERT_TEST_DELIVERY = f"""
INSERT INTO webhook_delivery (webhook_id, event_type, message_id, body)
VALUES (:webhook_id, :event_type, {NEW_MESSAGE_ID}, :body)
RETURNING id, message_id
"""

DELIVERY_COLUMNS = """
id, webhook_id, event_id, event_type, message_id, status, attempt_count, attempts, next_attempt_at,
last_status_code, last_error, created_at, finished_at, body
"""

LIST_DELIVERIES = f"""
SELECT {DELIVERY_COLUMNS} FROM webhook_delivery
WHERE webhook_id = :webhook_id AND (CAST(:status AS text) IS NULL OR status = :status)
ORDER BY id DESC LIMIT :limit OFFSET :offset
"""

COUNT_DELIVERIES = """
SELECT count(*) FROM webhook_delivery
WHERE webhook_id = :webhook_id AND (CAST(:status AS text) IS NULL OR status = :status)
"""

SELECT_DELIVERY = f"SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE id = :id"

# A resend starts a new round of attempts (with the webhook's retries) for a finished delivery.
RESEND_DELIVERY = """
UPDATE webhook_delivery
SET status = 'pending', round_attempts = 0, next_attempt_at = now(), finished_at = NULL
WHERE id = :id AND status <> 'pending'
RETURNING id, webhook_id, message_id, attempt_count
"""

# Retention: finished deliveries past the window, then events no delivery refers to any more.
PRUNE_DELIVERIES = """
WITH gone AS (
    DELETE FROM webhook_delivery
    WHERE status <> 'pending' AND finished_at < now() - make_interval(days => :days)
    RETURNING 1
)
SELECT count(*) FROM gone
"""
PRUNE_EVENTS = """
WITH gone AS (
    DELETE FROM webhook_event e
    WHERE e.relayed_at < now() - make_interval(days => :days)
      AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id)
    RETURNING 1
)
SELECT count(*) FROM gone
"""

# `fulfil status`: deliveries still to make, and events the relay has not turned into deliveries yet.
COUNT_PENDING = """
SELECT (SELECT count(*) FROM webhook_delivery WHERE status = 'pending') AS deliveries,
       (SELECT count(*) FROM webhook_event WHERE relayed_at IS NULL) AS events
"""
