-- Personal center: phone uniqueness, TOTP, recovery codes, linked social identities.
CREATE UNIQUE INDEX users_realm_phone ON users (realm_id, phone);

CREATE TABLE totp_credentials (
  realm_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  -- encrypted by the application (AES-256-GCM), never stored in the clear
  secret TEXT NOT NULL,
  confirmed_at INTEGER,
  -- newest accepted time step: a code of this step or an older one is a replay
  last_step INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, user_id)
);

CREATE TABLE recovery_codes (
  realm_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  used_at INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, user_id, code_hash)
);

CREATE TABLE external_identities (
  realm_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL,
  display_name TEXT,
  email TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, provider, subject)
);
CREATE INDEX external_identities_user ON external_identities (realm_id, user_id);

