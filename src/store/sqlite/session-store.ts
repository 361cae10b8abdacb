import session from 'express-session';
import type Database from 'better-sqlite3';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * express-session's store on the embedded database, for the zero-setup path
 * (with REDIS_URL, main.ts picks connect-redis instead). Expired rows are
 * ignored on read and swept every few minutes.
 */
export class SqliteSessionStore extends session.Store {
  private readonly get_;
  private readonly set_;
  private readonly destroy_;
  private readonly touch_;
  private readonly sweep_;
  private readonly sweeper: NodeJS.Timeout;

  constructor(db: Database.Database, sweepEveryMs = 5 * 60 * 1000) {
    super();
    this.get_ = db.prepare('SELECT data FROM http_sessions WHERE sid = ? AND expires_at > ?');
    this.set_ = db.prepare(`INSERT INTO http_sessions (sid, data, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`);
    this.destroy_ = db.prepare('DELETE FROM http_sessions WHERE sid = ?');
    this.touch_ = db.prepare('UPDATE http_sessions SET expires_at = ? WHERE sid = ?');
    this.sweep_ = db.prepare('DELETE FROM http_sessions WHERE expires_at <= ?');
    this.sweeper = setInterval(() => {
      if (db.open) this.sweep_.run(Date.now());
    }, sweepEveryMs).unref();
  }

  private static expiry(sess: session.SessionData): number {
    const expires = sess.cookie?.expires;
    return expires ? new Date(expires).getTime() : Date.now() + DAY_MS;
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    try {
      const row = this.get_.get(sid, Date.now()) as { data: string } | undefined;
      cb(null, row ? (JSON.parse(row.data) as session.SessionData) : null);
    } catch (err) {
      cb(err);
    }
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    try {
      this.set_.run(sid, JSON.stringify(sess), SqliteSessionStore.expiry(sess));
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    try {
      this.destroy_.run(sid);
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  override touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    try {
      this.touch_.run(SqliteSessionStore.expiry(sess), sid);
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
