-- Products: indexes for the list's sorts and, where PostgreSQL ships pg_trgm, its contains-filters.
-- The embedded server (pgserver) has no pg_trgm: there the filters scan, and this still applies.

-- Sorts (id uses the primary key, sku the unique lower(sku) index); id breaks ties.
CREATE INDEX product_name_sort_idx ON product (lower(name), id);
CREATE INDEX product_created_at_sort_idx ON product (created_at, id);
CREATE INDEX product_updated_at_sort_idx ON product (updated_at, id);

-- Trigram GIN indexes serve ILIKE '%term%' on each text column (and `q`, as a BitmapOr of the three).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE NOTICE 'pg_trgm is not available: contains-filters on products will scan the table';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'not allowed to create extension pg_trgm: contains-filters on products will scan the table';
        RETURN;
    END;
    CREATE INDEX product_sku_trgm_idx ON product USING gin (sku gin_trgm_ops);
    CREATE INDEX product_name_trgm_idx ON product USING gin (name gin_trgm_ops);
    CREATE INDEX product_description_trgm_idx ON product USING gin (description gin_trgm_ops);
END
$$;
