"""SQL of the import domain.

Statements with `:name` parameters go through `databases`; the ones with `$n` run on the raw
asyncpg connection the loader holds for a whole job (COPY, the batch upsert and its checkpoint).
"""

SNAPSHOT_COLUMNS = """
    id AS job_id, filename, status, phase, bytes_total, bytes_done, rows_done, rows_total,
    created, updated, unchanged, rejected, rows_per_second, eta_seconds, error,
    created_at, started_at, finished_at, version, kind, undoes, undone_by, restored, deleted, conflicts
"""

INSERT_JOB = f"""
INSERT INTO import_job (id, filename, file_path, rejects_path, bytes_total)
VALUES (:id, :filename, :file_path, :rejects_path, :bytes_total)
RETURNING {SNAPSHOT_COLUMNS}
"""

GET_SNAPSHOT = f"SELECT {SNAPSHOT_COLUMNS} FROM import_job WHERE id = :id"

GET_JOB = "SELECT * FROM import_job WHERE id = :id"

COUNT_JOBS = "SELECT count(*) FROM import_job"

LIST_SNAPSHOTS = f"""
SELECT {SNAPSHOT_COLUMNS} FROM import_job
ORDER BY created_at DESC, id
LIMIT :limit OFFSET :offset
"""

# A running job stops after its current batch.
REQUEST_CANCEL = f"""
UPDATE import_job SET cancel_requested = true
WHERE id = :id AND status = 'running'
RETURNING {SNAPSHOT_COLUMNS}
"""

# The job's session lock: held by the connection running the job, released by PostgreSQL when
# that process dies, which is how the recovery sweep tells an orphaned job from a running one.
# Both run on that raw asyncpg connection (hence `$1`), never through the pool.
LOCK_NAMESPACE = 4003
TRY_LOCK = f"SELECT pg_try_advisory_lock({LOCK_NAMESPACE}, hashtext($1))"
UNLOCK_ALL = "SELECT pg_advisory_unlock_all()"

CLAIM_JOB = f"""
UPDATE import_job
SET status = 'running', phase = 'checking', started_at = coalesce(started_at, now()),
    attempts = attempts + 1, heartbeat_at = now(), error = NULL, version = version + 1
WHERE id = :id AND status IN ('queued', 'running')
RETURNING {SNAPSHOT_COLUMNS}, file_path, rejects_path, checkpoint_line, checkpoint_byte, cancel_requested, attempts
"""

SET_PHASE = f"""
UPDATE import_job SET phase = :phase, heartbeat_at = now(), version = version + 1
WHERE id = :id
RETURNING {SNAPSHOT_COLUMNS}
"""

_FINISH = """
UPDATE import_job
SET status = :status, phase = :phase, error = :error, finished_at = now(), eta_seconds = NULL,
    rows_total = coalesce(rows_total, rows_done), heartbeat_at = now(), version = version + 1
WHERE id = :id AND status IN ({statuses})
RETURNING {columns}, file_path
"""
# The job ends itself; the cancel endpoint ends a job only while it is still queued.
FINISH_JOB = _FINISH.format(statuses="'queued', 'running'", columns=SNAPSHOT_COLUMNS)
FINISH_QUEUED = _FINISH.format(statuses="'queued'", columns=SNAPSHOT_COLUMNS)

# Jobs to (re)queue: running ones whose session lock nobody holds (their process died) and queued
# ones older than a few seconds that arq may have lost (enqueueing a known id is a no-op).
ORPHANED_JOBS = f"""
SELECT j.id, j.status, j.kind FROM import_job j
WHERE j.status IN ('queued', 'running')
  AND (j.status = 'running' OR j.created_at < now() - make_interval(secs => :queued_grace))
  AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = {LOCK_NAMESPACE} AND l.objsubid = 2
      AND l.objid = CAST(hashtext(CAST(j.id AS text)) AS oid)
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  )
ORDER BY j.created_at
"""

# Raw asyncpg ($n) statements of the batch loop.
CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    line bigint NOT NULL, sku text NOT NULL, name text NOT NULL, description text, active boolean
) ON COMMIT DELETE ROWS
"""
DROP_STAGE = "DROP TABLE IF EXISTS pg_temp.import_stage"
STAGE_TABLE = "import_stage"
STAGE_COLUMNS = ("line", "sku", "name", "description", "active")

# The last row of the batch wins for each SKU (case-insensitively), its SKU's case included;
# an existing product is rewritten only when a value differs, and the counts come back in SQL.
# The same statement records each change in the product history ($1: the job): RETURNING reads the
# row as it was before this statement (its snapshot), so an update's pre-image costs one primary-key
# lookup and only the fields that changed are kept; an unchanged row returns nothing, records nothing.
_UPSERT = """
WITH src AS (
    SELECT DISTINCT ON (lower(sku)) sku, name, description, active
    FROM import_stage
    ORDER BY lower(sku), line DESC
), done AS (
    INSERT INTO product AS p (sku, name, description, active)
    SELECT sku, name, description, {fill} FROM src
    ON CONFLICT ((lower(sku))) DO UPDATE
    SET sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
        active = {active}, updated_at = now()
    WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING (p.xmax = 0) AS inserted, p.id, p.sku, p.name, p.description, p.active,
        CASE WHEN p.xmax = 0 THEN NULL ELSE (SELECT o FROM product o WHERE o.id = p.id) END AS old
), who AS (
    SELECT actor_user_id, actor_token_id, actor FROM audit_event
    WHERE target = 'import ' || CAST($1::uuid AS text) AND action IN ('import.started', 'import.undo')
    ORDER BY id LIMIT 1
), history AS (
    INSERT INTO product_history
        (product_id, sku, action, source, before, after, job_id, actor_user_id, actor_token_id, actor)
    SELECT d.id, d.sku, CASE WHEN d.inserted THEN 'created' ELSE 'updated' END, 'import',
        CASE WHEN NOT d.inserted THEN {changed_before} END,
        CASE WHEN d.inserted THEN {whole_after} ELSE {changed_after} END,
        $1::uuid, w.actor_user_id, w.actor_token_id, w.actor
    FROM done d LEFT JOIN who w ON true
)
SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated FROM done
"""
_FIELDS = ("sku", "name", "description", "active")


def _changed(side: str) -> str:
    """A jsonb object of the fields the update changed, with their values from `side` (old or new)."""
    value = "(d.old).{f}" if side == "old" else "d.{f}"
    parts = [
        f"CASE WHEN (d.old).{f} IS DISTINCT FROM d.{f} THEN jsonb_build_object('{f}', {value.format(f=f)})"
        " ELSE '{}'::jsonb END"
        for f in _FIELDS
    ]
    return " || ".join(parts)


_RECORDING = {
    "changed_before": _changed("old"),
    "changed_after": _changed("new"),
    "whole_after": "jsonb_build_object(" + ", ".join(f"'{f}', d.{f}" for f in _FIELDS) + ")",
}
# `active` from the file where a row gives it; where it does not (no column, or a blank cell),
# new products get a random value and existing products keep theirs. Without the column no row
# gives it, so the existing value is kept without looking it up.
UPSERT_WITH_ACTIVE = _UPSERT.format(
    fill="coalesce(active, (SELECT e.active FROM product e WHERE lower(e.sku) = lower(src.sku)), random() < 0.5)",
    active="EXCLUDED.active",
    old="p.sku, p.name, p.description, p.active",
    new="EXCLUDED.sku, EXCLUDED.name, EXCLUDED.description, EXCLUDED.active",
    **_RECORDING,
)
UPSERT_KEEP_ACTIVE = _UPSERT.format(
    fill="random() < 0.5",
    active="p.active",
    old="p.sku, p.name, p.description",
    new="EXCLUDED.sku, EXCLUDED.name, EXCLUDED.description",
    **_RECORDING,
)

CHECKPOINT = f"""
UPDATE import_job
SET rows_done = rows_done + $2, created = created + $3, updated = updated + $4,
    unchanged = unchanged + $5, rejected = rejected + $6,
    checkpoint_line = $7, checkpoint_byte = $8, bytes_done = $8,
    rows_total = CASE WHEN $9 THEN rows_done + $2 ELSE rows_total END,
    rows_per_second = $10, eta_seconds = $11, heartbeat_at = now(), version = version + 1
WHERE id = $1
RETURNING {SNAPSHOT_COLUMNS}, cancel_requested
"""

# Retention: finished jobs past the window; their rejects reports are removed by the caller.
PRUNE_JOBS = """
DELETE FROM import_job
WHERE finished_at < now() - make_interval(days => :days)
RETURNING id, rejects_path
"""

# Which of these stored keys a job still names (as its upload or its rejects report); jobs recorded
# before the upload store kept absolute paths, which end in the key.
CLAIMED_KEYS = """
SELECT k AS key FROM unnest(CAST(:keys AS text[])) AS k
WHERE EXISTS (
    SELECT 1 FROM import_job j
    WHERE k IN (j.file_path, j.rejects_path)
       OR right(j.file_path, length(k) + 1) = '/' || k
       OR right(j.rejects_path, length(k) + 1) = '/' || k
)
"""

# `fulfil status`: the imports under way, and how many wait for a worker.
RUNNING_IMPORTS = """
SELECT id, filename, rows_done, rows_total, bytes_done, bytes_total, attempts, started_at
FROM import_job WHERE status = 'running' ORDER BY started_at
"""
COUNT_QUEUED = "SELECT count(*) FROM import_job WHERE status = 'queued'"
