-- PostgreSQL only (see migrations/postgres/0008): there the foreign key from a metric point to
-- its series was replaced by a delete trigger, because PostgreSQL checks it with a locking query
-- per row. SQLite checks it with one index probe on the writer's connection and takes no row
-- locks, so its schema keeps the foreign key. This file keeps both folders at the same versions.
SELECT 1;
