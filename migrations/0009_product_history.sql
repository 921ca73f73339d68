-- Product history: every change to a product (API, import, bulk action, undo) with the fields
-- before and after it (only the changed ones for an update), when, who and from where. Rows outlive
-- their product (no foreign key), so a deleted product's history stays readable by SKU. Actor
-- columns are copies, not references: an entry keeps saying who acted after the user is gone.
CREATE TABLE product_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     bigint NOT NULL,
    sku            text NOT NULL,
    action         text NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    source         text NOT NULL CHECK (source IN ('api', 'import', 'bulk', 'undo')),
    before         jsonb,
    after          jsonb,
    at             timestamptz NOT NULL DEFAULT now(),
    job_id         uuid,
    actor_user_id  bigint,
    actor_token_id bigint,
    actor          text
);
CREATE INDEX product_history_product_idx ON product_history (product_id, id DESC);
CREATE INDEX product_history_sku_idx ON product_history (lower(sku));
CREATE INDEX product_history_job_idx ON product_history (job_id, product_id, id) WHERE job_id IS NOT NULL;
-- Rows arrive in time order, so a BRIN index serves the hourly prune for almost nothing per insert.
CREATE INDEX product_history_at_idx ON product_history USING brin (at);

-- An undo is a job like an import (same progress, stream and history), of kind 'undo', naming the
-- job it takes back; `undone_by` is the latest undo of a job, `force` overrides conflicts.
ALTER TABLE import_job
    ADD COLUMN kind text NOT NULL DEFAULT 'import' CHECK (kind IN ('import', 'undo')),
    ADD COLUMN undoes uuid REFERENCES import_job (id) ON DELETE SET NULL,
    ADD COLUMN undone_by uuid REFERENCES import_job (id) ON DELETE SET NULL,
    ADD COLUMN force boolean NOT NULL DEFAULT false,
    ADD COLUMN restored bigint NOT NULL DEFAULT 0,
    ADD COLUMN deleted bigint NOT NULL DEFAULT 0,
    ADD COLUMN conflicts bigint NOT NULL DEFAULT 0;

-- The products an undo left alone because they changed since the job it undoes, with why.
CREATE TABLE undo_conflict (
    job_id     uuid NOT NULL REFERENCES import_job (id) ON DELETE CASCADE,
    product_id bigint NOT NULL,
    sku        text NOT NULL,
    reason     text NOT NULL,
    job_left   jsonb,
    current    jsonb,
    PRIMARY KEY (job_id, product_id)
);

-- Who started a job: its audit row, looked up once per import batch.
CREATE INDEX audit_event_job_target_idx ON audit_event (target) WHERE action IN ('import.started', 'import.undo');
