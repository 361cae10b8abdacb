-- The export pages a realm's users in id order: without this index every page sorted the whole realm.
CREATE INDEX users_realm_id ON users (realm_id, id);
