"""SQL of the import domain.

Statements with `:name` parameters go through `databases`; the ones with `$n` run on the raw
asyncpg connection the loader holds for a whole job (COPY, the batch upsert and its checkpoint).
"""

from fulfil.orphans import orphaned_jobs, try_lock
from fulfil.products.fields import FIELDS as _FIELDS

SNAPSHOT_COLUMNS = """
    id AS job_id, filename, status, phase, bytes_total, bytes_done, rows_done, rows_total,
    created, updated, unchanged, rejected, rows_per_second, eta_seconds, error,
    created_at, started_at, finished_at, version, kind, undoes, undone_by, restored, deleted, conflicts,
    mode, dry_run, mapping, file_format, columns, sample_rows, would_create, would_update, skipped, skip_reasons,
    duplicates_in_file, preview_of, confirmed_by, expired_at
"""

INSERT_JOB = f"""
INSERT INTO import_job (id, filename, file_path, rejects_path, bytes_total, mode, mapping, dry_run, preview_of)
VALUES (:id, :filename, :file_path, :rejects_path, :bytes_total, :mode, CAST(:mapping AS jsonb), :dry_run, :preview_of)
RETURNING {SNAPSHOT_COLUMNS}
"""

# A preview's confirm: the preview, locked, and marked as confirmed by the import it starts.
LOCK_PREVIEW = "SELECT * FROM import_job WHERE id = :id FOR UPDATE"
MARK_CONFIRMED = "UPDATE import_job SET confirmed_by = :import_id, version = version + 1 WHERE id = :id"

# What the header showed: its columns and the field each feeds, and the first rows when it lacked some.
SET_COLUMNS = f"""
UPDATE import_job
SET columns = CAST(:columns AS jsonb), sample_rows = CAST(:sample AS jsonb), file_format = :file_format,
    version = version + 1
WHERE id = :id
RETURNING {SNAPSHOT_COLUMNS}
"""

# A preview's sample of changes, in file order.
LIST_CHANGES = "SELECT line, sku, action, fields FROM import_change WHERE job_id = :id ORDER BY line"
# A preview run again from the start (the run before it was cut off) counts everything afresh.
RESET_PREVIEW = """
UPDATE import_job
SET rows_done = 0, would_create = 0, would_update = 0, unchanged = 0, rejected = 0, skipped = 0,
    skip_reasons = '{}', duplicates_in_file = 0, changes_sampled = 0, checkpoint_line = 0, checkpoint_byte = 0,
    bytes_done = 0
WHERE id = $1
"""
DELETE_CHANGES = "DELETE FROM import_change WHERE job_id = $1"

# Previews finished longer ago than the TTL and never confirmed: their files go, they stay in the history.
EXPIRE_PREVIEWS = """
UPDATE import_job SET expired_at = now(), version = version + 1
WHERE dry_run AND confirmed_by IS NULL AND expired_at IS NULL
  AND finished_at < now() - make_interval(hours => :hours)
RETURNING id, file_path
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
TRY_LOCK = try_lock(LOCK_NAMESPACE)
UNLOCK_ALL = "SELECT pg_advisory_unlock_all()"

CLAIM_JOB = f"""
UPDATE import_job
SET status = 'running', phase = 'checking', started_at = coalesce(started_at, now()),
    attempts = attempts + 1, heartbeat_at = now(), error = NULL, version = version + 1
WHERE id = :id AND status IN ('queued', 'running')
RETURNING {SNAPSHOT_COLUMNS}, file_path, rejects_path, checkpoint_line, checkpoint_byte, cancel_requested, attempts,
    changes_sampled
"""

SET_PHASE = f"""
UPDATE import_job SET phase = :phase, heartbeat_at = now(), version = version + 1
WHERE id = :id
RETURNING {SNAPSHOT_COLUMNS}
"""

_FINISH = """
UPDATE import_job
SET status = :status, phase = :phase, error = :error, finished_at = now(), eta_seconds = NULL,
    rows_total = CASE WHEN :status = 'cancelled' THEN rows_total ELSE coalesce(rows_total, rows_done) END,
    heartbeat_at = now(), version = version + 1
WHERE id = :id AND status IN ({statuses})
RETURNING {columns}, file_path
"""
# A cancelled job keeps rows_total unknown: its progress shows where it stopped, not 100 %.
# The job ends itself; the cancel endpoint ends a job only while it is still queued.
FINISH_JOB = _FINISH.format(statuses="'queued', 'running'", columns=SNAPSHOT_COLUMNS)
FINISH_QUEUED = _FINISH.format(statuses="'queued'", columns=SNAPSHOT_COLUMNS)

ORPHANED_JOBS = orphaned_jobs("import_job", LOCK_NAMESPACE, columns="j.id, j.status, j.kind")

# Raw asyncpg ($n) statements of the batch loop.
CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    line bigint NOT NULL, sku text NOT NULL, name text NOT NULL, description text, active boolean
) ON COMMIT DELETE ROWS
"""
DROP_STAGE = "DROP TABLE IF EXISTS pg_temp.import_stage"
STAGE_TABLE = "import_stage"
STAGE_COLUMNS = ("line", "sku", "name", "description", "active")

# Every SKU (lower case) the job has met in the file so far, on the job's connection: a row whose SKU
# is in it was overridden in the file (counted in `duplicates_in_file`, and still written: the last
# row wins). A resumed import fills it again from the history entries it wrote.
CREATE_SEEN = "CREATE TEMP TABLE IF NOT EXISTS import_seen (key text PRIMARY KEY)"
DROP_SEEN = "DROP TABLE IF EXISTS pg_temp.import_seen"
REFILL_SEEN = """
INSERT INTO import_seen (key)
SELECT DISTINCT lower(sku) FROM product_history WHERE job_id = $1
ON CONFLICT DO NOTHING
"""

# The last row of the batch wins for each SKU (case-insensitively), its SKU's case included;
# an existing product is rewritten only when a value differs, and the counts come back in SQL.
# Who a job's history entries name ($1: the job): the audit row of the import that started it, or
# of the undo.
WHO = """
SELECT actor_user_id, actor_token_id, actor FROM audit_event
WHERE target = 'import ' || CAST($1::uuid AS text) AND action IN ('import.started', 'import.undo')
ORDER BY id LIMIT 1
"""

# The same statement records each change in the product history ($1: the job): RETURNING reads the
# row as it was before this statement (its snapshot), so an update's pre-image costs one primary-key
# lookup and only the fields that changed are kept; an unchanged row returns nothing, records nothing.
# The mode decides which SKUs may be written (`{only}`, `{conflict}`) and which are `skipped`;
# only rows of SKUs new to the job (`fresh`) count as created, updated, unchanged or skipped.
_SRC = """
WITH src AS (
    SELECT DISTINCT ON (lower(sku)) line, sku, name, description, active
    FROM import_stage
    ORDER BY lower(sku), line DESC
), fresh AS (
    INSERT INTO import_seen (key) SELECT lower(sku) FROM src ON CONFLICT DO NOTHING RETURNING key
)"""
_UPSERT = (
    _SRC
    + """, done AS (
    INSERT INTO product AS p (sku, name, description, active)
    SELECT sku, name, description, {fill} FROM src {only}
    ON CONFLICT ((lower(sku))) {conflict}
    RETURNING (p.xmax = 0) AS inserted, p.id, p.sku, p.name, p.description, p.active,
        CASE WHEN p.xmax = 0 THEN NULL ELSE (SELECT o FROM product o WHERE o.id = p.id) END AS old
), who AS ("""
    + WHO
    + """), history AS (
    INSERT INTO product_history
        (product_id, sku, action, source, before, after, job_id, actor_user_id, actor_token_id, actor)
    SELECT d.id, d.sku, CASE WHEN d.inserted THEN 'created' ELSE 'updated' END, 'import',
        CASE WHEN NOT d.inserted THEN {changed_before} END,
        CASE WHEN d.inserted THEN {whole_after} ELSE {changed_after} END,
        $1::uuid, w.actor_user_id, w.actor_token_id, w.actor
    FROM done d LEFT JOIN who w ON true
)
SELECT (SELECT count(*) FROM fresh) AS fresh,
    count(*) FILTER (WHERE d.inserted AND f.key IS NOT NULL) AS created,
    count(*) FILTER (WHERE NOT d.inserted AND f.key IS NOT NULL) AS updated,
    {skipped} AS skipped
FROM done d LEFT JOIN fresh f ON f.key = lower(d.sku)
"""
)
MODES = ("upsert", "create_only", "update_only")


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
_STORED = "EXISTS (SELECT 1 FROM product e WHERE lower(e.sku) = {key})"
_BY_MODE = {
    "upsert": {"only": "", "skipped": "0"},
    "create_only": {
        "only": "",
        "skipped": "(SELECT count(*) FROM fresh) - count(*) FILTER (WHERE d.inserted AND f.key IS NOT NULL)",
    },
    "update_only": {
        "only": "WHERE " + _STORED.format(key="lower(src.sku)"),
        "skipped": "(SELECT count(*) FROM fresh n WHERE NOT " + _STORED.format(key="n.key") + ")",
    },
}


def _upsert(mode: str, *, keep_active: bool) -> str:
    """The batch statement for `mode`, with `active` from the file or kept.

    `active` from the file where a row gives it; where it does not (no column, or a blank cell),
    new products get a random value and existing products keep theirs. Without the column no row
    gives it, so the existing value is kept without looking it up.
    """
    if keep_active:
        fill, active = "random() < 0.5", "p.active"
        old, new = "p.sku, p.name, p.description", "EXCLUDED.sku, EXCLUDED.name, EXCLUDED.description"
    else:
        fill = "coalesce(active, (SELECT e.active FROM product e WHERE lower(e.sku) = lower(src.sku)), random() < 0.5)"
        active = "EXCLUDED.active"
        old = "p.sku, p.name, p.description, p.active"
        new = "EXCLUDED.sku, EXCLUDED.name, EXCLUDED.description, EXCLUDED.active"
    conflict = (
        "DO NOTHING"
        if mode == "create_only"
        else "DO UPDATE SET sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description, "
        f"active = {active}, updated_at = now() WHERE ({old}) IS DISTINCT FROM ({new})"
    )
    return _UPSERT.format(fill=fill, conflict=conflict, **_BY_MODE[mode], **_RECORDING)


UPSERTS = {(mode, keep): _upsert(mode, keep_active=keep) for mode in MODES for keep in (False, True)}

# A preview's batch: the same rows and SKUs as the import's statement, compared with the catalogue
# instead of written. Each row new to the job gets the action its import would take ($2: the mode),
# and the first changes ($3 at most) are kept with each changed field's old and new value.
_PREVIEW = (
    _SRC
    + """, cmp AS (
    SELECT s.line, s.sku, s.name, s.description, {new_active} AS active, e.id IS NOT NULL AS stored,
        e.sku AS old_sku, e.name AS old_name, e.description AS old_description, e.active AS old_active
    FROM src s JOIN fresh f ON f.key = lower(s.sku) LEFT JOIN product e ON lower(e.sku) = f.key
), outcome AS (
    SELECT *, CASE
        WHEN NOT stored THEN CASE WHEN $2 = 'update_only' THEN 'skipped' ELSE 'create' END
        WHEN $2 = 'create_only' THEN 'skipped'
        WHEN ({old}) IS DISTINCT FROM ({new}) THEN 'update'
        ELSE 'unchanged'
    END AS action
    FROM cmp
), sample AS (
    INSERT INTO import_change (job_id, line, sku, action, fields)
    SELECT $1, line, sku, action, {fields}
    FROM outcome WHERE action IN ('create', 'update') ORDER BY line LIMIT $3
    RETURNING 1
)
SELECT (SELECT count(*) FROM fresh) AS fresh,
    count(*) FILTER (WHERE action = 'create') AS created,
    count(*) FILTER (WHERE action = 'update') AS updated,
    count(*) FILTER (WHERE action = 'skipped') AS skipped,
    (SELECT count(*) FROM sample) AS sampled
FROM outcome
"""
)


def _preview(*, keep_active: bool) -> str:
    fields = _FIELDS[:3] if keep_active else _FIELDS
    diff = " || ".join(
        f"CASE WHEN old_{f} IS DISTINCT FROM {f} THEN jsonb_build_object('{f}', "
        f"jsonb_build_object('old', old_{f}, 'new', {f})) ELSE '{{}}'::jsonb END"
        for f in fields
    )
    return _PREVIEW.format(
        new_active="s.active" if keep_active else "coalesce(s.active, e.active)",
        old=", ".join(f"old_{f}" for f in fields),
        new=", ".join(fields),
        fields=diff,
    )


PREVIEWS = {keep: _preview(keep_active=keep) for keep in (False, True)}

# A preview's created and updated are what its import would do: `would_create`, `would_update`.
CHECKPOINT = f"""
UPDATE import_job
SET rows_done = rows_done + $2,
    created = created + CASE WHEN dry_run THEN 0 ELSE $3 END,
    updated = updated + CASE WHEN dry_run THEN 0 ELSE $4 END,
    would_create = would_create + CASE WHEN dry_run THEN $3 ELSE 0 END,
    would_update = would_update + CASE WHEN dry_run THEN $4 ELSE 0 END,
    unchanged = unchanged + $5, rejected = rejected + $6,
    checkpoint_line = $7, checkpoint_byte = $8, bytes_done = $8,
    rows_total = CASE WHEN $9 THEN rows_done + $2 ELSE rows_total END,
    rows_per_second = $10, eta_seconds = $11,
    skipped = skipped + $12, duplicates_in_file = duplicates_in_file + $13,
    skip_reasons = (
        SELECT coalesce(jsonb_object_agg(reason, total), '{{}}'::jsonb) FROM (
            SELECT key AS reason, sum(CAST(value AS bigint)) AS total
            FROM (SELECT * FROM jsonb_each_text(skip_reasons) UNION ALL SELECT * FROM jsonb_each_text($14::jsonb)) AS e
            GROUP BY key
        ) AS summed
    ),
    changes_sampled = changes_sampled + $15,
    heartbeat_at = now(), version = version + 1
WHERE id = $1
RETURNING {SNAPSHOT_COLUMNS}, cancel_requested, changes_sampled
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
