-- Impersonation (docs/design/console.md §3): a login session an operator started as the user. act_* name the
-- operator (RFC 8693 `act`: subject and issuer), the console-realm session it depends on (act_realm, act_sid:
-- when that one ends, this one ends too), the reason the operator gave, and when it stops at the latest.
-- All null for a session the user started themself.
ALTER TABLE login_sessions ADD COLUMN act_sub TEXT;
ALTER TABLE login_sessions ADD COLUMN act_iss TEXT;
ALTER TABLE login_sessions ADD COLUMN act_realm TEXT;
ALTER TABLE login_sessions ADD COLUMN act_sid TEXT;
ALTER TABLE login_sessions ADD COLUMN act_reason TEXT;
ALTER TABLE login_sessions ADD COLUMN act_expires_at INTEGER;
