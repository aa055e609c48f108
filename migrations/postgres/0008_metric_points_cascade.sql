-- A point's series is checked by the code that writes it, not by a foreign key: PostgreSQL checks
-- a foreign key once per inserted row, each check a query that locks the series row (a WAL record
-- each), about a sixth of the database's work for a 500-metric log-batch. log-batch and the
-- import insert points by series ids read or created in the same transaction, and log-batch holds
-- a key-share lock on the run (so the run, and with it its series, cannot be deleted before the
-- points commit).
--
-- Deleting series still deletes their points, as `ON DELETE CASCADE` did, through one statement
-- per deleting statement.

ALTER TABLE metric_points DROP CONSTRAINT metric_points_series_id_fkey;

CREATE FUNCTION metric_points_follow_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM metric_points p USING gone g WHERE p.series_id = g.series_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER metric_series_deleted AFTER DELETE ON metric_series
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION metric_points_follow_series();
