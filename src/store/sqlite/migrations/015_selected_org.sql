-- Org selection (docs/design/orgs.md §7.1): the org a user picked for this login session (`/login?…&org=select`);
-- tokens of the session mark it `selected: true` while its membership stays live. NULL: none picked.
ALTER TABLE login_sessions ADD COLUMN selected_org_id TEXT;
