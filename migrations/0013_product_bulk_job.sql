-- A bulk delete or update over more than one batch runs as a job: this row is its truth (what
-- it takes, who asked, how far it got), so the dashboard can poll its progress and a job cut
-- off by a crash resumes after its last committed batch (`after_id`).
CREATE TABLE product_bulk_job (
    id             uuid PRIMARY KEY,
    action         text NOT NULL CHECK (action IN ('delete', 'update')),
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    -- The list's filter parameters it takes (a job only ever runs for a filter: `ids` fit one batch).
    filter         jsonb NOT NULL,
    set_active     boolean,
    matched        bigint NOT NULL,
    affected       bigint NOT NULL DEFAULT 0,
    after_id       bigint NOT NULL DEFAULT 0,
    error          text,
    actor_user_id  bigint,
    actor_token_id bigint,
    actor          text,
    address        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX product_bulk_job_unfinished_idx ON product_bulk_job (created_at) WHERE status IN ('queued', 'running');
