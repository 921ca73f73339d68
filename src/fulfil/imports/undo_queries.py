"""SQL of the undo: the request (`:name`, through `databases`) and the batches (`$n`, on the run's
own asyncpg connection, like the import's)."""

from fulfil.imports.queries import SNAPSHOT_COLUMNS

LOCK_TARGET = """
SELECT j.id, j.kind, j.status, j.filename, j.started_at, j.undone_by, j.undoes,
       u.status AS undo_status, t.kind AS undoes_kind
FROM import_job j
LEFT JOIN import_job u ON u.id = j.undone_by
LEFT JOIN import_job t ON t.id = j.undoes
WHERE j.id = :id
FOR UPDATE OF j
"""

INSERT_UNDO = f"""
INSERT INTO import_job (id, filename, file_path, kind, undoes, force)
VALUES (:id, :filename, '', 'undo', :undoes, :force)
RETURNING {SNAPSHOT_COLUMNS}
"""

SET_UNDONE_BY = "UPDATE import_job SET undone_by = :undo, version = version + 1 WHERE id = :id"

GET_UNDO = "SELECT undoes, force, checkpoint_line FROM import_job WHERE id = $1"

TARGET_STATUS = "SELECT status FROM import_job WHERE id = $1"

# The number of products the undone job touched: the undo's rows_total.
COUNT_TOUCHED = "SELECT count(DISTINCT product_id) FROM product_history WHERE job_id = $1"
SET_TOTAL = f"""
UPDATE import_job SET rows_total = $2, phase = 'undoing', heartbeat_at = now(), version = version + 1
WHERE id = $1
RETURNING {SNAPSHOT_COLUMNS}
"""

# The last product id of the next batch (products in id order, after the checkpoint).
BATCH_END = """
SELECT max(product_id) FROM (
    SELECT DISTINCT product_id FROM product_history
    WHERE job_id = $1 AND product_id > $2
    ORDER BY product_id LIMIT $3
) AS batch
"""

# The undone job's entries for the batch's products, oldest first for each.
BATCH_ENTRIES = """
SELECT product_id, sku, action, before, after FROM product_history
WHERE job_id = $1 AND product_id > $2 AND product_id <= $3
ORDER BY product_id, id
"""

LOCK_CURRENT = """
SELECT id, sku, name, description, active FROM product
WHERE id = ANY($1::bigint[])
ORDER BY id
FOR UPDATE
"""

DELETE_PRODUCTS = "DELETE FROM product WHERE id = ANY($1::bigint[])"

UPDATE_PRODUCTS = """
UPDATE product AS p
SET sku = u.sku, name = u.name, description = u.description, active = u.active, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[]) AS u(id, sku, name, description, active)
WHERE p.id = u.id
"""

# A product the undone job deleted comes back under its own id; one whose SKU another product has
# taken since (or whose id is back already) is not inserted and comes back out of the returned ids.
REINSERT_PRODUCTS = """
INSERT INTO product (id, sku, name, description, active)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[])
ON CONFLICT DO NOTHING
RETURNING id
"""


HISTORY_TABLE = "product_history"
HISTORY_COLUMNS = (
    "product_id",
    "sku",
    "action",
    "source",
    "before",
    "after",
    "job_id",
    "actor_user_id",
    "actor_token_id",
    "actor",
)
CONFLICT_TABLE = "undo_conflict"
CONFLICT_COLUMNS = ("job_id", "product_id", "sku", "reason", "job_left", "current")

CHECKPOINT = f"""
UPDATE import_job
SET rows_done = rows_done + $2, restored = restored + $3, deleted = deleted + $4,
    conflicts = conflicts + $5, unchanged = unchanged + $6, checkpoint_line = $7,
    rows_per_second = $8, eta_seconds = $9, heartbeat_at = now(), version = version + 1
WHERE id = $1
RETURNING {SNAPSHOT_COLUMNS}, cancel_requested
"""

CONFLICTS_SO_FAR = "SELECT conflicts FROM import_job WHERE id = $1"

CONFLICTS_PAGE = """
SELECT product_id, sku, reason, job_left, current FROM undo_conflict
WHERE job_id = :id AND product_id > :after
ORDER BY product_id LIMIT :limit
"""
