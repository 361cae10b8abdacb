-- The realm dashboard (console): events per realm, UTC day and type, kept by a trigger so that counting
-- 30 days is reading at most 30 × types rows, however long the log. `at` is milliseconds since 1970 (an
-- INTEGER, Date.getTime()); at / 1000 drops the milliseconds, which never moves an event across midnight
-- (a day starts on a whole second), and date(…, 'unixepoch') is the day in UTC.
CREATE TABLE event_day_counts (
  realm_id TEXT NOT NULL,
  day TEXT NOT NULL,
  type TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (realm_id, day, type)
) WITHOUT ROWID;

-- Counts follow inserts only: the log is append-only (no UPDATE or DELETE of events but a realm's purge,
-- which empties this table's rows of the realm too, as it does every table with a realm_id).
CREATE TRIGGER events_day_count AFTER INSERT ON events BEGIN
  INSERT INTO event_day_counts (realm_id, day, type, n) VALUES (NEW.realm_id, date(NEW.at / 1000, 'unixepoch'), NEW.type, 1)
    ON CONFLICT (realm_id, day, type) DO UPDATE SET n = n + 1;
END;

-- Every event already logged, not only the last 30 days: a count of any day then matches the log (one scan, once).
INSERT INTO event_day_counts (realm_id, day, type, n)
  SELECT realm_id, date(at / 1000, 'unixepoch'), type, COUNT(*) FROM events GROUP BY 1, 2, 3;

-- The dashboard's live sessions of a realm: not ended, seen within the idle timeout, created within the absolute
-- one. created_at last makes the index cover the count (no table row read).
CREATE INDEX login_sessions_live ON login_sessions (realm_id, ended_at, last_seen_at, created_at);
