-- The users list's name key, Unicode-aware: SQLite's lower() folds ASCII only, so migration 008's generated
-- column kept "Émile" apart from the "émile" a search for it is lower-cased to. name_norm is now a stored
-- column the adapter writes with every name, username, first or last name, through name_norm_of(name,
-- first_name, last_name, username): nameNormOf (src/identity/user.ts), registered on each connection by
-- SqliteStore before the migrations run. (This file cannot be run by the sqlite3 shell, which lacks it.)

-- An indexed column cannot be dropped: the index goes first and is built again on the new column.
DROP INDEX users_sort_name;
-- A virtual column has nothing stored: dropping it rewrites no row.
ALTER TABLE users DROP COLUMN name_norm;
ALTER TABLE users ADD COLUMN name_norm TEXT;
-- Every row at once: a million users take a few seconds (one call of the function per row).
UPDATE users SET name_norm = name_norm_of(name, first_name, last_name, username);
CREATE INDEX users_sort_name ON users (realm_id, name_norm, id);
