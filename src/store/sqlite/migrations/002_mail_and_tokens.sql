-- Mail outbox: every mail is written here first and sent by the outbox worker.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT,
  to_address TEXT NOT NULL,
  to_name TEXT,
  from_header TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  -- the link the mail carries, for the development outbox page and log line
  link TEXT,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  -- a worker that claimed the mail owns it until then (another instance, or a restart, takes over after)
  lease_until INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recent ON outbox (created_at);

-- Codes count wrong guesses; tokens may carry flow data (where the user goes afterwards).
ALTER TABLE one_time_tokens ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE one_time_tokens ADD COLUMN data TEXT;

-- Facts about a realm that outlive its configuration (one-way settings).
CREATE TABLE realm_state (
  realm_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (realm_id, key)
);
