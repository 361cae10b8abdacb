-- Gatehouse embedded store, version 1. Times are milliseconds since the epoch.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  user_type TEXT NOT NULL CHECK (user_type IN ('human', 'api')),
  username TEXT NOT NULL,
  username_norm TEXT NOT NULL,
  email TEXT,
  email_norm TEXT,
  -- equals email_norm when the realm requires unique emails, NULL otherwise (NULLs never collide)
  email_unique_key TEXT,
  email_verification TEXT NOT NULL DEFAULT 'none' CHECK (email_verification IN ('none', 'requested', 'verified')),
  phone TEXT,
  phone_verified INTEGER NOT NULL DEFAULT 0,
  first_name TEXT,
  last_name TEXT,
  nickname TEXT,
  photo TEXT,
  locale TEXT,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
  reference TEXT,
  custom_attributes TEXT NOT NULL DEFAULT '{}',
  password_hash TEXT,
  logins_count INTEGER NOT NULL DEFAULT 0,
  last_login_at INTEGER,
  last_login_ip TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_realm_username ON users (realm_id, username_norm);
CREATE UNIQUE INDEX users_realm_email_unique ON users (realm_id, email_unique_key);
CREATE INDEX users_realm_email ON users (realm_id, email_norm);
CREATE INDEX users_realm_reference ON users (realm_id, reference);

CREATE TABLE login_sessions (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  ip TEXT,
  user_agent TEXT,
  amr TEXT NOT NULL,
  aal INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE INDEX login_sessions_user ON login_sessions (realm_id, user_id);

CREATE TABLE signing_keys (
  realm_id TEXT NOT NULL,
  kid TEXT NOT NULL,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  private_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER,
  PRIMARY KEY (realm_id, kid)
);

CREATE TABLE one_time_tokens (
  realm_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  user_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, purpose, token_hash)
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (realm_id, user_id, purpose);

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm_id TEXT NOT NULL,
  type TEXT NOT NULL,
  user_id TEXT,
  client_id TEXT,
  ip TEXT,
  user_agent TEXT,
  at INTEGER NOT NULL,
  data TEXT
);
CREATE INDEX events_user ON events (realm_id, user_id, at);

CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- express-session's browser sessions when no Redis is configured
CREATE TABLE http_sessions (
  sid TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX http_sessions_expiry ON http_sessions (expires_at);
