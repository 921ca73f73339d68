-- Imports you can look at before they write: a job's mode (which SKUs it may create or update), its
-- column mapping, whether it is a preview (a dry run that writes no product), the counts a preview
-- or mode adds, and the columns the job found in the file's header with the field each maps to.
ALTER TABLE import_job
    ADD COLUMN mode text NOT NULL DEFAULT 'upsert' CHECK (mode IN ('upsert', 'create_only', 'update_only')),
    ADD COLUMN mapping jsonb,
    ADD COLUMN dry_run boolean NOT NULL DEFAULT false,
    ADD COLUMN file_format text,
    ADD COLUMN columns jsonb,
    ADD COLUMN sample_rows jsonb,
    ADD COLUMN would_create bigint NOT NULL DEFAULT 0,
    ADD COLUMN would_update bigint NOT NULL DEFAULT 0,
    ADD COLUMN skipped bigint NOT NULL DEFAULT 0,
    ADD COLUMN skip_reasons jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN duplicates_in_file bigint NOT NULL DEFAULT 0,
    ADD COLUMN changes_sampled integer NOT NULL DEFAULT 0,
    ADD COLUMN preview_of uuid REFERENCES import_job (id) ON DELETE SET NULL,
    ADD COLUMN confirmed_by uuid REFERENCES import_job (id) ON DELETE SET NULL,
    ADD COLUMN expired_at timestamptz;

-- A preview's sample of what its import would change: the SKU and each changed field, old and new.
CREATE TABLE import_change (
    job_id  uuid NOT NULL REFERENCES import_job (id) ON DELETE CASCADE,
    line    bigint NOT NULL,
    sku     text NOT NULL,
    action  text NOT NULL CHECK (action IN ('create', 'update')),
    fields  jsonb NOT NULL,
    PRIMARY KEY (job_id, line)
);

-- Previews waiting for their confirm, for the hourly expiry.
CREATE INDEX import_job_preview_idx ON import_job (finished_at)
    WHERE dry_run AND confirmed_by IS NULL AND expired_at IS NULL;

-- Saved column mappings, chosen by name with `profile=NAME`.
CREATE TABLE import_profile (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    mapping    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX import_profile_name_idx ON import_profile (lower(name));
