-- SQLite only (see migrations/sqlite/0009): there a metric point's timestamp became an offset from
-- its series' first one, because SQLite stores small integers in fewer bytes. PostgreSQL's bigint
-- is 8 bytes whatever its value, so its points keep absolute timestamps. This file keeps both
-- folders at the same versions.
SELECT 1;
