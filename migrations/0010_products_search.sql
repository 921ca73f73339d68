-- Products at scale: a natural sort key for names, sort indexes for every column, and a search
-- structure chosen for what it costs the CSV import.
--
-- Names sort "naturally" (Product 2 before Product 10) through product_name_key: lower case, every
-- run of digits left-padded with zeros to at least 10 digits. It is plain SQL so it works on servers
-- without ICU (the embedded one has none), and immutable so an index can hold it.
CREATE FUNCTION product_name_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(regexp_replace(lower(name), '[0-9]+', '0000000000\&', 'g'), '0*([0-9]{10,})', '\1', 'g');

DROP INDEX product_name_sort_idx;
CREATE INDEX product_name_sort_idx ON product (product_name_key(name), id);

-- Descriptions sort by their first 100 characters (any case, no description first), then id:
-- a whole description can be longer than a B-tree entry allows.
CREATE INDEX product_description_sort_idx ON product (lower(left(coalesce(description, ''), 100)), id);
CREATE INDEX product_active_sort_idx ON product (active, id);

-- The description's trigram index goes: it was most of the import's time (each description
-- brings ~100 trigrams to the GIN index) and helped little on ordinary prose, where common
-- trigrams match most rows anyway. The description filter reads the table instead; SKU and name
-- keep theirs (pg_trgm only).
DROP INDEX IF EXISTS product_description_trgm_idx;
