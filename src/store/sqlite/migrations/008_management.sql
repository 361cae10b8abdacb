-- The management side (issue 12): API users' name and keys, management API keys, the audit log,
-- and what the users list filters, sorts and counts by.

-- An API user's editable name (a human's is derived from the first and last names).
ALTER TABLE users ADD COLUMN name TEXT;
-- The users list sorts and searches by the name the console shows: the API user's name, else the
-- human's "first last", else the username. Lower-cased; virtual (computed on read), indexed below.
ALTER TABLE users ADD COLUMN name_norm TEXT GENERATED ALWAYS AS (
  lower(coalesce(nullif(name, ''), nullif(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')), ''), username))
) VIRTUAL;

-- Keyset paging: every sort key with the id as tie-breaker, NULLs folded so (key, id) comparisons work.
CREATE INDEX users_sort_created ON users (realm_id, created_at, id);
CREATE INDEX users_sort_email ON users (realm_id, coalesce(email_norm, ''), id);
CREATE INDEX users_sort_name ON users (realm_id, name_norm, id);
CREATE INDEX users_sort_last_login ON users (realm_id, coalesce(last_login_at, 0), id);
CREATE INDEX users_sort_state ON users (realm_id, state, id);
CREATE INDEX users_type ON users (realm_id, user_type, id);

-- Counts by type, state and verification, kept by triggers: the users list's counts stay O(1) at a million users.
CREATE TABLE user_counts (
  realm_id TEXT NOT NULL,
  user_type TEXT NOT NULL,
  state TEXT NOT NULL,
  email_verification TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (realm_id, user_type, state, email_verification)
) WITHOUT ROWID;
INSERT INTO user_counts (realm_id, user_type, state, email_verification, n)
  SELECT realm_id, user_type, state, email_verification, COUNT(*) FROM users GROUP BY realm_id, user_type, state, email_verification;

CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
  INSERT INTO user_counts (realm_id, user_type, state, email_verification, n)
    VALUES (NEW.realm_id, NEW.user_type, NEW.state, NEW.email_verification, 1)
    ON CONFLICT (realm_id, user_type, state, email_verification) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
  UPDATE user_counts SET n = n - 1
    WHERE realm_id = OLD.realm_id AND user_type = OLD.user_type AND state = OLD.state AND email_verification = OLD.email_verification;
END;
CREATE TRIGGER users_count_update AFTER UPDATE OF realm_id, user_type, state, email_verification ON users
  WHEN OLD.realm_id IS NOT NEW.realm_id OR OLD.user_type IS NOT NEW.user_type OR OLD.state IS NOT NEW.state
    OR OLD.email_verification IS NOT NEW.email_verification
BEGIN
  UPDATE user_counts SET n = n - 1
    WHERE realm_id = OLD.realm_id AND user_type = OLD.user_type AND state = OLD.state AND email_verification = OLD.email_verification;
  INSERT INTO user_counts (realm_id, user_type, state, email_verification, n)
    VALUES (NEW.realm_id, NEW.user_type, NEW.state, NEW.email_verification, 1)
    ON CONFLICT (realm_id, user_type, state, email_verification) DO UPDATE SET n = n + 1;
END;

-- An API user's key: found by its keyed hash; `sealed` (AES-256-GCM) only under the realm's "encrypt" policy.
CREATE TABLE user_api_keys (
  realm_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  lookup_hash TEXT NOT NULL,
  sealed TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, user_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX user_api_keys_lookup ON user_api_keys (realm_id, lookup_hash);

-- Management API keys: realm_id NULL means every realm.
CREATE TABLE management_keys (
  id TEXT PRIMARY KEY,
  name TEXT,
  realm_id TEXT,
  access TEXT NOT NULL CHECK (access IN ('read', 'write')),
  key_hash TEXT NOT NULL UNIQUE,
  last_four TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  last_used_at INTEGER,
  revoked_at INTEGER
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm_id TEXT,
  at INTEGER NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  operation TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT,
  request_id TEXT,
  ip TEXT,
  before TEXT,
  after TEXT
);
CREATE INDEX audit_log_realm ON audit_log (realm_id, id);
