-- Groups of users and their members (docs/design/orgs.md §2.1, commit 8). 015 is org selection's (commit 7).
CREATE TABLE groups (
  id TEXT PRIMARY KEY,                -- grp_…, made by the app
  realm_id TEXT NOT NULL,
  name TEXT NOT NULL,
  name_norm TEXT NOT NULL,            -- normalizeLogin(name): unique in the realm (any case), the list's sort and prefix search
  description TEXT,
  permissions TEXT NOT NULL DEFAULT '[]',   -- JSON array, lower-cased, deduplicated
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (realm_id, name_norm);

CREATE TABLE group_members (
  realm_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (realm_id, user_id, created_at, group_id); -- a user's groups in order (hand-off, user delete)
CREATE INDEX group_members_page ON group_members (realm_id, group_id, created_at, user_id); -- a group's members, paged
