-- The development SMS outbox: text messages kept instead of sent (shown at /dev/mail beside the mails).
CREATE TABLE sms_outbox (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT,
  to_number TEXT NOT NULL,
  text_body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX sms_outbox_created ON sms_outbox (created_at);
