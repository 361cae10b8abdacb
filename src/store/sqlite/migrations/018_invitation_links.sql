-- Realm invitation links and join requests (docs/design/orgs.md §2.2, commit 13). Ids are invl_… and jr_…, made
-- by the app; a link's token is stored only as its HMAC (token_hash). A link past expires_at or revoked is no
-- longer found by its token; "reset all" revokes the live links of one creator (invitation_links_creator).
CREATE TABLE invitation_links (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  name TEXT,
  org_id TEXT,
  permissions TEXT NOT NULL DEFAULT '[]',   -- JSON array, lower-cased, deduplicated
  approval INTEGER NOT NULL DEFAULT 0,
  return_to TEXT,                           -- JSON ReturnTo
  token_hash TEXT NOT NULL,
  created_by_type TEXT NOT NULL,
  created_by_id TEXT,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX invitation_links_token ON invitation_links (realm_id, token_hash);
CREATE INDEX invitation_links_creator ON invitation_links (realm_id, created_by_type, created_by_id, revoked_at);
CREATE INDEX invitation_links_created ON invitation_links (realm_id, created_at, id);
CREATE TABLE join_requests (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  link_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  user_id TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by_type TEXT,
  decided_by_id TEXT,
  decided_at INTEGER,
  reason TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX join_requests_status ON join_requests (realm_id, status, created_at, id);
CREATE INDEX join_requests_created ON join_requests (realm_id, created_at, id);
