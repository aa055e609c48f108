-- SQLite only (see migrations/sqlite/0010): PostgreSQL writes a batch's points with one statement
-- over arrays into `metric_points` directly. This file keeps both folders at the same versions.
SELECT 1;
