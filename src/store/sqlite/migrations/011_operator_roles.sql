-- The operator console (issue 13): each operator (a user of the console realm) holds one role per realm,
-- or on every realm ('*'). realm_id is the realm the grant is on: a realm's purge (directory.deleteRealm)
-- drops its grants with every other row of the realm; a deleted operator's go with the user (users-admin).
CREATE TABLE operator_roles (
  operator_id TEXT NOT NULL,
  realm_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  granted_at INTEGER NOT NULL,
  granted_by TEXT,
  PRIMARY KEY (operator_id, realm_id)
) WITHOUT ROWID;
CREATE INDEX operator_roles_realm ON operator_roles (realm_id);
