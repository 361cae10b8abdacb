import type Database from 'better-sqlite3';
import { InvalidEventCursor, normalizeTypePrefix, type EventType, type NewEvent, type StoredEvent } from '../../domain/events.ts';
import {
  decodeEventCursor,
  emitted,
  encodeEventCursor,
  utcDay,
  type Emit,
  type EventDayCount,
  type EventPage,
  type EventQuery,
  type EventsPort,
} from '../../ports/events.ts';

type Row = Record<string, unknown>;
const str = (v: unknown): string | null => (v == null ? null : String(v));

function rowToEvent(r: Row): StoredEvent {
  return {
    id: String(r.id),
    realmId: String(r.realm_id),
    type: String(r.type),
    userId: str(r.user_id),
    actor: { type: r.actor_type as StoredEvent['actor']['type'], id: str(r.actor_id) },
    request: { ip: str(r.ip), userAgent: str(r.user_agent), clientId: str(r.client_id), requestId: str(r.request_id) },
    at: new Date(Number(r.at)),
    data: r.data == null ? null : (JSON.parse(String(r.data)) as Record<string, unknown>),
  };
}

/**
 * The event log in the `events` table (migrations 001, 009). Its id is the
 * rowid: AUTOINCREMENT, so a later append has a larger id, which orders two
 * events of one millisecond as they were appended.
 */
export class SqliteEvents implements EventsPort {
  private readonly insert: Database.Statement;
  private readonly dayCounts: Database.Statement;
  /** One prepared statement per combination of filters (at most 2^5). */
  private readonly queries = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO events (realm_id, type, user_id, actor_type, actor_id, client_id, ip, user_agent, request_id, at, data)
      VALUES (@realmId, @type, @userId, @actorType, @actorId, @clientId, @ip, @userAgent, @requestId, @at, @data)`);
    // The counts migration 013's trigger keeps: one primary-key range per type.
    this.dayCounts = db.prepare(`SELECT day, type, n FROM event_day_counts
      WHERE realm_id = @realmId AND type IN (SELECT value FROM json_each(@types)) AND day >= @since ORDER BY day, type`);
  }

  async append(e: NewEvent): Promise<StoredEvent> {
    const id = this.insertOne(e);
    return { ...e, id, data: e.data ? structuredClone(e.data as Record<string, unknown>) : null };
  }

  private insertOne(e: NewEvent): string {
    const { lastInsertRowid } = this.insert.run({
      realmId: e.realmId,
      type: e.type,
      userId: e.userId,
      actorType: e.actor.type,
      actorId: e.actor.id,
      clientId: e.request.clientId,
      ip: e.request.ip,
      userAgent: e.request.userAgent,
      requestId: e.request.requestId,
      at: e.at.getTime(),
      data: e.data ? JSON.stringify(e.data) : null,
    });
    return String(lastInsertRowid);
  }

  /** Appends, synchronously: inside the caller's transaction (see `withEvents`). */
  insertAll(events: readonly NewEvent[]): void {
    for (const e of events) this.insertOne(e);
  }

  /**
   * Runs the synchronous `change` and appends the events `emit` asks for in one
   * transaction (a savepoint inside the caller's, if any): an error of either
   * rolls both back. Without `emit`, `change` runs as it would alone.
   */
  withEvents<R>(change: () => R, emit: Emit<R> | undefined): R {
    if (emit === undefined) return change();
    return this.db.transaction(() => {
      const result = change();
      this.insertAll(emitted(emit, result));
      return result;
    })();
  }

  async query(q: EventQuery): Promise<EventPage> {
    const cursor = q.after === undefined ? null : decodeEventCursor(q.after);
    // Ids here are rowids: a cursor with another id is not one of this log's.
    if (cursor && !/^[1-9]\d{0,17}$/.test(cursor.id)) throw new InvalidEventCursor();
    if (q.limit < 1) return { data: [], next: null };
    const params: Record<string, unknown> = { realmId: q.realmId, limit: q.limit + 1 };
    const where = ['realm_id = @realmId'];
    if (q.userId !== undefined) {
      where.push('user_id = @userId');
      params.userId = q.userId;
    }
    if (q.typePrefix !== undefined) {
      // No LIKE: `_` is in type names (password_token) and would match any character.
      where.push("(type = @prefix OR substr(type, 1, length(@prefix) + 1) = @prefix || '.')");
      params.prefix = normalizeTypePrefix(q.typePrefix);
    }
    if (q.types !== undefined) {
      where.push('type IN (SELECT value FROM json_each(@types))');
      params.types = JSON.stringify(q.types);
    }
    if (q.createdAfter !== undefined) {
      where.push('at > @createdAfter');
      params.createdAfter = q.createdAfter.getTime();
    }
    if (cursor) {
      where.push('(at, id) < (@cursorAt, @cursorId)');
      params.cursorAt = cursor.at.getTime();
      params.cursorId = BigInt(cursor.id);
    }
    const sql = `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC LIMIT @limit`;
    let stmt = this.queries.get(sql);
    if (!stmt) this.queries.set(sql, (stmt = this.db.prepare(sql)));
    const rows = (stmt.all(params) as Row[]).map(rowToEvent);
    const data = rows.slice(0, q.limit);
    return { data, next: rows.length > q.limit ? encodeEventCursor(data[data.length - 1]!) : null };
  }

  async dailyCounts(realmId: string, types: readonly EventType[], since: Date): Promise<EventDayCount[]> {
    if (types.length === 0) return [];
    const rows = this.dayCounts.all({ realmId, types: JSON.stringify(types), since: utcDay(since) }) as Row[];
    return rows.map((r) => ({ day: String(r.day), type: String(r.type) as EventType, n: Number(r.n) }));
  }
}
