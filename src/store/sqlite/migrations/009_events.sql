-- The typed event catalogue (src/domain/events.ts): who made each change and the request's id, and the
-- stored events renamed to the catalogue's names (LEGACY_EVENT_TYPES there is the same table).
ALTER TABLE events ADD COLUMN actor_type TEXT NOT NULL DEFAULT 'system';
ALTER TABLE events ADD COLUMN actor_id TEXT;
ALTER TABLE events ADD COLUMN request_id TEXT;

-- Every event before this one came from a page of the user's own; a failed sign-in from someone not known.
UPDATE events SET actor_type = 'user', actor_id = CASE WHEN type = 'login.failed' THEN NULL ELSE user_id END;

-- The new name says what both old ones meant; data.reason keeps them apart.
UPDATE events SET data = json_set(COALESCE(data, '{}'), '$.reason', CASE type WHEN 'password.reset' THEN 'password_reset' ELSE 'password_changed' END)
  WHERE type IN ('password.reset', 'password.changed');

UPDATE events SET type = CASE type
  WHEN 'signup' THEN 'user.created'
  WHEN 'profile.updated' THEN 'user.updated'
  WHEN 'account.reclaimed' THEN 'user.reclaimed'
  WHEN 'login.succeeded' THEN 'user.login.succeeded'
  WHEN 'login.failed' THEN 'user.login.failed'
  WHEN 'login.unverified' THEN 'user.login.unverified'
  WHEN 'reauth.succeeded' THEN 'user.reauth.succeeded'
  WHEN 'reauth.failed' THEN 'user.reauth.failed'
  WHEN 'email.verified' THEN 'user.email.verified'
  WHEN 'email.change_requested' THEN 'user.email.update_requested'
  WHEN 'email.change_failed' THEN 'user.email.update_failed'
  WHEN 'email.changed' THEN 'user.email.updated'
  WHEN 'password.reset_requested' THEN 'user.password_token.created'
  WHEN 'password.reset' THEN 'user.password.updated'
  WHEN 'password.changed' THEN 'user.password.updated'
  WHEN 'password.change_failed' THEN 'user.password.update_failed'
  WHEN 'phone.code_sent' THEN 'user.phone.code_sent'
  WHEN 'phone.bind_failed' THEN 'user.phone.bind_failed'
  WHEN 'phone.bound' THEN 'user.phone.bound'
  WHEN 'phone.removed' THEN 'user.phone.removed'
  WHEN 'mfa.enrol_started' THEN 'user.mfa.enrollment_started'
  WHEN 'mfa.enrol_cancelled' THEN 'user.mfa.enrollment_cancelled'
  WHEN 'mfa.enrol_failed' THEN 'user.mfa.enrollment_failed'
  WHEN 'mfa.enrolled' THEN 'user.mfa.enrolled'
  WHEN 'mfa.recovery_codes_regenerated' THEN 'user.mfa.recovery_codes_regenerated'
  WHEN 'mfa.remove_failed' THEN 'user.mfa.removal_failed'
  WHEN 'mfa.removed' THEN 'user.mfa.removed'
  WHEN 'identity.linked' THEN 'user.identity.linked'
  WHEN 'identity.unlinked' THEN 'user.identity.unlinked'
  WHEN 'session.ended' THEN 'session.deleted'
  ELSE type END;

-- The events API lists a whole realm newest first. id is the rowid, the tail of every index: (realm_id, at)
-- serves ORDER BY at DESC, id DESC and the (at, id) < cursor keyset, as events_user does for one user.
CREATE INDEX events_realm ON events (realm_id, at);
