-- Org invitations by mail (docs/design/orgs.md §2.2, commit 12). Ids are inv_…, made by the app; the link's
-- token is stored only as its HMAC (token_hash). An invitation past expires_at stays 'pending' and is no
-- longer found by its token; a resend replaces token_hash (the old link dies) and expires_at.
CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  email TEXT NOT NULL,
  email_norm TEXT NOT NULL,           -- normalizeLogin(email): the accepting account's address must match it; prefix search
  name TEXT,
  name_norm TEXT,                     -- normalizeLogin(name): prefix search
  permissions TEXT NOT NULL DEFAULT '[]',   -- JSON array, lower-cased, deduplicated
  return_to TEXT,                     -- JSON ReturnTo, checked again against the realm's apps when used
  token_hash TEXT NOT NULL,
  created_by_type TEXT NOT NULL,
  created_by_id TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
  expires_at INTEGER NOT NULL,
  sent_count INTEGER NOT NULL DEFAULT 1,
  last_sent_at INTEGER NOT NULL,
  accepted_by TEXT,
  accepted_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX invitations_token ON invitations (realm_id, token_hash);
CREATE INDEX invitations_org ON invitations (realm_id, org_id, created_at, id);
CREATE INDEX invitations_created ON invitations (realm_id, created_at, id);
CREATE INDEX invitations_email ON invitations (realm_id, email_norm);
