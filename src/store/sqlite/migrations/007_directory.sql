-- The directory of realms and apps (src/ports/directory.ts): provisioned from the configuration file
-- (source 'file') or created through the management API (source 'api'). Settings are JSON, the schema's output.
CREATE TABLE directory_realms (
  id TEXT PRIMARY KEY,
  settings TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('file', 'api')),
  -- A file realm the file no longer declares: not served, its users kept, its id reserved.
  retired_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- The host names of the served realms: one realm per host, enforced here.
CREATE TABLE directory_hosts (
  host TEXT PRIMARY KEY,
  realm_id TEXT NOT NULL REFERENCES directory_realms (id) ON DELETE CASCADE
);
CREATE INDEX directory_hosts_realm ON directory_hosts (realm_id);

CREATE TABLE directory_apps (
  realm_id TEXT NOT NULL REFERENCES directory_realms (id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  settings TEXT NOT NULL,
  -- sha-256 (hex) of an API app's generated secret; NULL for file apps (their secret is an env var).
  secret_hash TEXT,
  source TEXT NOT NULL CHECK (source IN ('file', 'api')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (realm_id, client_id)
);

-- One row: bumped by every write of the directory, polled by every instance.
CREATE TABLE directory_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);
