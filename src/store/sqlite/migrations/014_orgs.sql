-- Orgs and memberships (docs/design/orgs.md §2.1). Ids are short prefixed strings (org_…, mb_…) made by the app.
CREATE TABLE orgs (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  name TEXT NOT NULL,
  name_norm TEXT NOT NULL,            -- normalizeLogin(name) (identity/user.ts): search prefix and sort, any case, Unicode-aware
  reference TEXT,
  custom_attributes TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'closed')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX orgs_sort_name ON orgs (realm_id, name_norm, id);
CREATE INDEX orgs_sort_created ON orgs (realm_id, created_at, id);
CREATE INDEX orgs_reference ON orgs (realm_id, reference);
CREATE INDEX orgs_state ON orgs (realm_id, state, id);

CREATE TABLE memberships (
  id TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT,                        -- NULL: the user-only membership ("permission attributes directly on the user")
  permissions TEXT NOT NULL DEFAULT '[]',   -- JSON array, lower-cased, deduplicated
  custom_attributes TEXT NOT NULL DEFAULT '{}',
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- One membership per (user, org), and at most one user-only membership: NULLs never collide in a plain UNIQUE,
-- so two partial indexes say it (the database enforces both, also under concurrency).
CREATE UNIQUE INDEX memberships_user_org ON memberships (realm_id, user_id, org_id) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX memberships_user_only ON memberships (realm_id, user_id) WHERE org_id IS NULL;
CREATE INDEX memberships_user ON memberships (realm_id, user_id, created_at, id);   -- hand-off: newest first
CREATE INDEX memberships_org ON memberships (realm_id, org_id, created_at, id);     -- an org's members, paged
