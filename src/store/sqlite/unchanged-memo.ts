import type Database from 'better-sqlite3';

/**
 * Lookups remembered only while the database has not changed since: a write
 * through this connection (total_changes()) or a commit by any other one, in
 * this process or another (PRAGMA data_version), empties the memo before the
 * next read. One statement that reads two counters (no table, no B-tree) tells,
 * so a key revoked or replaced anywhere fails on the very next request, while
 * the hot lookups (a management key per request, authenticate-key) skip their
 * table reads between writes. Only rows found are remembered, at most `max`.
 */
export class UnchangedMemo<V> {
  private readonly version: Database.Statement;
  private seen: string | null = null;
  private readonly entries = new Map<string, V>();

  constructor(
    db: Database.Database,
    private readonly max = 1000,
  ) {
    this.version = db.prepare("SELECT (SELECT data_version FROM pragma_data_version()) || ':' || total_changes()").pluck();
  }

  /** The remembered value for `key`, or `load()`'s (remembered when not null). */
  get(key: string, load: () => V | null): V | null {
    // Read before loading: a commit elsewhere in between moves the version, and the next call starts afresh.
    const now = this.version.get() as string;
    if (now !== this.seen) {
      this.entries.clear();
      this.seen = now;
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const value = load();
    if (value !== null) {
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}
