"""The webhooks' SQL: plain parameterised strings (`databases` style: `:name`, `CAST`, no `::`)."""

from __future__ import annotations

# A new delivery's Standard Webhooks message id: stable across its retries, unique everywhere.
NEW_MESSAGE_ID = "'msg_' || replace(CAST(gen_random_uuid() AS text), '-', '')"

# The previous secret of a rotation signs only until its grace ends (the sweep then erases it).
PREVIOUS_SECRET = "CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret_sealed END"

WEBHOOK_COLUMNS = """
w.id, w.url, w.event_types, w.enabled, (w.secret IS NOT NULL OR w.secret_sealed IS NOT NULL) AS has_secret,
w.timeout, w.retry_count, w.disabled_reason, w.disabled_at, w.failing_since, w.created_at, w.updated_at,
w.secret_rotated_at,
CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret_expires_at END AS previous_secret_expires_at,
w.header_names, w.max_per_second,
last.status AS last_delivery_status, last.created_at AS last_delivery_at
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
SELECT id, url, event_types, enabled, timeout, retry_count, headers_sealed, header_names, max_per_second,
       secret, secret_sealed
FROM webhook WHERE id = :id FOR UPDATE
"""

SELECT_TARGET = f"""
SELECT w.id, w.url, w.secret, w.secret_sealed, {PREVIOUS_SECRET} AS previous_secret_sealed, w.timeout,
       w.headers_sealed, w.max_per_second
FROM webhook w WHERE w.id = :id
"""

INSERT_WEBHOOK = """
INSERT INTO webhook (url, event_types, enabled, secret_sealed, secret_key_id, timeout, retry_count, headers_sealed,
                     header_names, max_per_second)
VALUES (:url, :event_types, :enabled, :secret_sealed, :secret_key_id, :timeout, :retry_count, :headers_sealed,
        :header_names, :max_per_second)
RETURNING id
"""

# Enabling a webhook clears why and since when it was disabled, and restarts the count of
# failures that disable it. A secret set by hand replaces the current one and ends any rotation.
# Writing some of the sealed columns clears `secret_key_id`: the sweep then seals them all under
# the current key again, so none is left under a key that may later leave OLD_SECRET_KEYS.
UPDATE_WEBHOOK = """
UPDATE webhook
SET url = :url, event_types = :event_types, enabled = :enabled, timeout = :timeout, retry_count = :retry_count,
    headers_sealed = :headers_sealed, header_names = :header_names, max_per_second = :max_per_second,
    secret = CASE WHEN :set_secret THEN NULL ELSE secret END,
    secret_sealed = CASE WHEN :set_secret THEN :secret_sealed ELSE secret_sealed END,
    secret_key_id = CASE WHEN :set_secret OR :set_headers THEN NULL ELSE secret_key_id END,
    previous_secret_sealed = CASE WHEN :set_secret THEN NULL ELSE previous_secret_sealed END,
    previous_secret_expires_at = CASE WHEN :set_secret THEN NULL ELSE previous_secret_expires_at END,
    enabled_at = CASE WHEN :enabled AND NOT enabled THEN now() ELSE enabled_at END,
    disabled_reason = CASE WHEN :enabled THEN NULL ELSE disabled_reason END,
    disabled_at = CASE WHEN :enabled THEN NULL ELSE disabled_at END,
    failing_since = CASE WHEN :enabled THEN NULL ELSE failing_since END,
    updated_at = now()
WHERE id = :id
"""

# A rotation: the new secret signs from now on; the current one keeps signing beside it until
# `previous_expires_at` (NULL: no grace, it is dropped at once).
ROTATE_SECRET = """
UPDATE webhook
SET secret = NULL, secret_sealed = :secret_sealed, secret_key_id = NULL,
    previous_secret_sealed = :previous_sealed, previous_secret_expires_at = :previous_expires_at,
    secret_rotated_at = now(), updated_at = now()
WHERE id = :id
"""

# The sweep's upkeep of secrets at rest: previous secrets past their grace are erased; plaintext
# ones (written before sealing existed, or by a process of an older version) and ones sealed by
# an old SECRET_KEY are sealed again, each only if it has not changed since it was read.
ERASE_EXPIRED_SECRETS = """
WITH erased AS (
    UPDATE webhook SET previous_secret_sealed = NULL, previous_secret_expires_at = NULL
    WHERE previous_secret_expires_at <= now()
    RETURNING 1
)
SELECT count(*) FROM erased
"""
SECRETS_TO_SEAL = """
SELECT id, secret, secret_sealed, previous_secret_sealed, headers_sealed FROM webhook
WHERE secret IS NOT NULL
   OR ((secret_sealed IS NOT NULL OR previous_secret_sealed IS NOT NULL OR headers_sealed IS NOT NULL)
       AND secret_key_id IS DISTINCT FROM :key_id)
ORDER BY id LIMIT :limit
"""
SEAL_SECRETS = """
UPDATE webhook
SET secret = NULL, secret_sealed = :secret_sealed, previous_secret_sealed = :previous_sealed,
    headers_sealed = :headers_sealed, secret_key_id = :key_id
WHERE id = :id AND secret IS NOT DISTINCT FROM :old_secret AND secret_sealed IS NOT DISTINCT FROM :old_sealed
  AND previous_secret_sealed IS NOT DISTINCT FROM :old_previous AND headers_sealed IS NOT DISTINCT FROM :old_headers
"""

DELETE_WEBHOOK = "DELETE FROM webhook WHERE id = :id RETURNING id"

DISABLE_WEBHOOK = """
UPDATE webhook SET enabled = false, disabled_reason = :reason, disabled_at = now(), updated_at = now()
WHERE id = :id AND enabled
RETURNING id, url, disabled_reason
"""

# Sustained failure: every delivery that ended since the webhook was last enabled and since its
# last success failed, at least :min_failed of them, the first at least :hours ago. It runs after
# every delivery that ends failed, so each part is an index probe (webhook_delivery_failed_idx;
# the last success is the webhook's `last_delivered_at`) and the failures are counted only up to
# :min_failed, and in full only when it disables. Disabled once (a racing job's statement finds it
# disabled already).
DISABLE_FAILING = """
WITH since AS (
    SELECT greatest(enabled_at, coalesce(last_delivered_at, enabled_at)) AS at FROM webhook WHERE id = :id AND enabled
),
streak AS (
    SELECT since.at AS after,
           (SELECT min(finished_at) FROM webhook_delivery
            WHERE webhook_id = :id AND status = 'failed' AND finished_at > since.at) AS first_failed,
           (SELECT count(*) FROM (
                SELECT 1 FROM webhook_delivery
                WHERE webhook_id = :id AND status = 'failed' AND finished_at > since.at LIMIT :min_failed
            ) enough) AS failed
    FROM since
)
UPDATE webhook w
SET enabled = false, disabled_at = now(), failing_since = streak.first_failed, updated_at = now(),
    disabled_reason = 'every delivery failed since ' || to_char(streak.first_failed AT TIME ZONE 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (' || (
            SELECT count(*) FROM webhook_delivery
            WHERE webhook_id = :id AND status = 'failed' AND finished_at > streak.after
        ) || ' failed)'
FROM streak
WHERE w.id = :id AND w.enabled AND streak.failed >= :min_failed
  AND streak.first_failed <= now() - make_interval(secs => CAST(:hours AS float8) * 3600)
RETURNING w.id, w.url, w.disabled_reason, w.failing_since
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

# The feed's positions are given in id order under one transaction-scoped lock, taken last in the
# relay's transaction: relays take turns only for the moment before they commit, and a position
# is never visible before a smaller one is.
FEED_LOCK = "SELECT pg_advisory_xact_lock(7405118263)"
MARK_RELAYED = """
UPDATE webhook_event e SET relayed_at = now(), feed_position = o.position
FROM (
    SELECT id, nextval('webhook_event_feed_seq') AS position
    FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id ORDER BY 1) ordered
) o
WHERE e.id = o.id
"""

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
CLAIM_DELIVERIES = f"""
UPDATE webhook_delivery d
SET next_attempt_at = now() + make_interval(secs => :lease)
FROM webhook w
WHERE d.id = ANY (:ids) AND w.id = d.webhook_id AND d.status = 'pending'
  AND d.next_attempt_at <= now() + interval '1 second'
RETURNING d.id, d.webhook_id, d.event_type, d.message_id, d.body, d.attempt_count, d.round_attempts,
          w.url, w.secret, w.secret_sealed, {PREVIOUS_SECRET} AS previous_secret_sealed, w.timeout, w.retry_count,
          w.enabled, w.headers_sealed, w.max_per_second
"""

# Waiting for the webhook's rate or a pause its receiver asked for: back in the queue, no attempt counted.
POSTPONE_DELIVERIES = """
UPDATE webhook_delivery SET next_attempt_at = now() + make_interval(secs => :wait)
WHERE id = ANY (:ids) AND status = 'pending'
"""

# A webhook's last success, written at most once a second per webhook.
MARK_DELIVERED = """
UPDATE webhook SET last_delivered_at = now()
WHERE id = ANY (:ids) AND (last_delivered_at IS NULL OR last_delivered_at < now() - interval '1 second')
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

# Recover: a new round for every delivery of the webhook that ended failed in [since, until).
FAILED_IN_WINDOW = """
d.webhook_id = :webhook_id AND d.status = 'failed' AND d.finished_at >= :since
AND (CAST(:until AS timestamptz) IS NULL OR d.finished_at < :until)
"""
COUNT_RECOVERABLE = f"SELECT count(*) FROM webhook_delivery d WHERE {FAILED_IN_WINDOW}"
RECOVER_DELIVERIES = f"""
UPDATE webhook_delivery d
SET status = 'pending', round_attempts = 0, next_attempt_at = now(), finished_at = NULL
WHERE {FAILED_IN_WINDOW}
RETURNING d.id, d.webhook_id, d.message_id, d.attempt_count
"""

# The last 24 hours of one webhook: deliveries that ended, and the response times of its attempts.
WEBHOOK_STATS = """
SELECT
    (SELECT count(*) FROM webhook_delivery
     WHERE webhook_id = :id AND status = 'delivered' AND finished_at >= now() - interval '24 hours') AS delivered,
    (SELECT count(*) FROM webhook_delivery
     WHERE webhook_id = :id AND status = 'failed' AND finished_at >= now() - interval '24 hours') AS failed,
    t.p50, t.p95
FROM (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(a ->> 'duration_ms' AS float8)) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY CAST(a ->> 'duration_ms' AS float8)) AS p95
    FROM webhook_delivery d, jsonb_array_elements(d.attempts) a
    WHERE d.webhook_id = :id AND (d.finished_at >= now() - interval '24 hours' OR d.status = 'pending')
      AND a ->> 'status_code' IS NOT NULL AND CAST(a ->> 'at' AS timestamptz) >= now() - interval '24 hours'
) t
"""

# The event feed: relayed events by position, the cursor being the last position read.
LIST_FEED = """
SELECT id, event_type, created_at, CAST(payload AS text) AS payload, feed_position FROM webhook_event
WHERE feed_position > :after AND (CAST(:type AS text) IS NULL OR event_type = :type)
ORDER BY feed_position LIMIT :limit
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
