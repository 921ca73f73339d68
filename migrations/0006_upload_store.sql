-- Uploaded files and rejects reports kept in PostgreSQL (UPLOAD_STORAGE=database), so web and
-- worker processes need no disk in common: each file is rows of about 1 MB in order, written as the
-- upload arrives and read back a row at a time. `data` is stored uncompressed: a file lives only
-- until its job ends, and compressing each megabyte costs more time than the space is worth.
CREATE TABLE upload_chunk (
    key        text        NOT NULL,
    seq        integer     NOT NULL,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, seq)
);
ALTER TABLE upload_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
