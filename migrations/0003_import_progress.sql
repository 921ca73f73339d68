-- CSV import progress: an increasing version per job (the SSE event id, kept across restarts),
-- the rate and ETA the running job computes, and how many times the job has been started
-- (so a file that keeps killing its process is failed instead of retried forever).
ALTER TABLE import_job
    ADD COLUMN version         bigint NOT NULL DEFAULT 0,
    ADD COLUMN rows_per_second double precision,
    ADD COLUMN eta_seconds     double precision,
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0;

-- The recovery sweep looks only at unfinished jobs.
CREATE INDEX import_job_unfinished_idx ON import_job (created_at) WHERE status IN ('queued', 'running');
