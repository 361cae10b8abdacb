import { Types, type ClientSession, type Model, type PipelineStage } from 'mongoose';
import { InvalidEventCursor, LEGACY_EVENT_TYPES, normalizeTypePrefix, type EventType, type NewEvent, type StoredEvent } from '../../domain/events.ts';
import {
  decodeEventCursor,
  emitted,
  encodeEventCursor,
  startOfUtcDay,
  type Emit,
  type EventDayCount,
  type EventPage,
  type EventQuery,
  type EventsPort,
} from '../../ports/events.ts';
import type { EventDoc } from './schemas.ts';

function toEvent(d: EventDoc & { _id: Types.ObjectId }): StoredEvent {
  return {
    id: d._id.toHexString(),
    realmId: d.realmId,
    type: d.type,
    userId: d.userId ?? null,
    // Stored before the catalogue: every such event came from a page of the user's own.
    actor: { type: d.actorType ?? 'user', id: d.actorType ? (d.actorId ?? null) : (d.userId ?? null) },
    request: { ip: d.ip ?? null, userAgent: d.userAgent ?? null, clientId: d.clientId ?? null, requestId: d.requestId ?? null },
    at: d.at,
    data: d.data ?? null,
  };
}

function toDoc(e: NewEvent): EventDoc {
  const doc: EventDoc = {
    _id: new Types.ObjectId(),
    realmId: e.realmId,
    type: e.type,
    userId: e.userId,
    actorType: e.actor.type,
    actorId: e.actor.id,
    clientId: e.request.clientId,
    ip: e.request.ip,
    userAgent: e.request.userAgent,
    requestId: e.request.requestId,
    at: e.at,
  };
  if (e.data) doc.data = e.data as Record<string, unknown>;
  return doc;
}

/** `s` matched literally inside a regular expression. */
export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The event log in the `events` collection. _id is an ObjectId made by this
 * process: of two events of one millisecond from one instance, the later has
 * the larger _id. (Across instances two such events are ordered by _id all the
 * same: a total order, which is what the cursor needs.)
 */
export class MongoEvents implements EventsPort {
  constructor(private readonly model: Model<EventDoc>) {}

  async append(e: NewEvent): Promise<StoredEvent> {
    const doc = toDoc(e);
    await this.model.create(doc);
    return { ...e, id: doc._id!.toHexString(), data: e.data ? structuredClone(e.data as Record<string, unknown>) : null };
  }

  /** Appends inside the caller's transaction (see `withEvents`). */
  async insertAll(events: readonly NewEvent[], session: ClientSession): Promise<void> {
    if (events.length > 0) await this.model.insertMany(events.map(toDoc), { session });
  }

  /**
   * Runs `change` and appends the events `emit` asks for in one transaction on
   * one client session: both commit or neither does. The store runs on a
   * replica set or a sharded cluster (openMongoStore refuses a standalone
   * server, which has no transactions), so there is no weaker path here. The
   * transaction may run `change` again on a transient error: it must read
   * what it decides on inside it. Without `emit`, `change` runs with no
   * session, as it would alone.
   */
  async withEvents<R>(change: (session: ClientSession | undefined) => Promise<R>, emit: Emit<R> | undefined): Promise<R> {
    if (emit === undefined) return change(undefined);
    return this.model.db.transaction(async (session) => {
      const result = await change(session);
      await this.insertAll(emitted(emit, result), session);
      return result;
    });
  }

  async query(q: EventQuery): Promise<EventPage> {
    const cursor = q.after === undefined ? null : decodeEventCursor(q.after);
    if (cursor && !/^[0-9a-f]{24}$/.test(cursor.id)) throw new InvalidEventCursor();
    if (q.limit < 1) return { data: [], next: null };
    const and: Record<string, unknown>[] = [{ realmId: q.realmId }];
    if (q.userId !== undefined) and.push({ userId: q.userId });
    if (q.typePrefix !== undefined) {
      const prefix = normalizeTypePrefix(q.typePrefix);
      and.push({ type: { $regex: `^${escapeRegex(prefix)}(\\.|$)` } });
    }
    if (q.types !== undefined) and.push({ type: { $in: [...q.types] } });
    if (q.createdAfter !== undefined) and.push({ at: { $gt: q.createdAfter } });
    if (cursor) {
      const id = new Types.ObjectId(cursor.id);
      and.push({ $or: [{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: id } }] });
    }
    const docs = await this.model
      .find({ $and: and })
      .sort({ at: -1, _id: -1 })
      .limit(q.limit + 1)
      .lean<(EventDoc & { _id: Types.ObjectId })[]>();
    const data = docs.slice(0, q.limit).map(toEvent);
    return { data, next: docs.length > q.limit ? encodeEventCursor(data[data.length - 1]!) : null };
  }

  /** Counted when asked, from the index events_type_at: one range of `at` per type, the whole days from since's. */
  async dailyCounts(realmId: string, types: readonly EventType[], since: Date): Promise<EventDayCount[]> {
    if (types.length === 0) return [];
    const rows = await this.model.aggregate<EventDayCount>([
      { $match: { realmId, type: { $in: [...types] }, at: { $gte: startOfUtcDay(since) } } },
      { $group: { _id: { day: { $dateToString: { date: '$at', format: '%Y-%m-%d', timezone: 'UTC' } }, type: '$type' }, n: { $sum: 1 } } },
      { $project: { _id: 0, day: '$_id.day', type: '$_id.type', n: 1 } },
      { $sort: { day: 1, type: 1 } },
    ]);
    return rows.map((r) => ({ day: r.day, type: r.type, n: r.n }));
  }

  /**
   * Renames events stored under the names before the catalogue (what SQLite's
   * migration 009 does), in one pass over the old ones only: run at start,
   * it finds nothing to do once done, and instances racing at start write the same values.
   */
  async renameLegacyTypes(): Promise<void> {
    const legacy = Object.keys(LEGACY_EVENT_TYPES);
    const branches = Object.entries(LEGACY_EVENT_TYPES).map(([from, to]) => ({ case: { $eq: ['$type', from] }, then: to }));
    const reason = { $cond: [{ $eq: ['$type', 'password.reset'] }, 'password_reset', 'password_changed'] };
    const pipeline: PipelineStage.Set[] = [
      {
        $set: {
          data: {
            $cond: [{ $in: ['$type', ['password.reset', 'password.changed']] }, { $mergeObjects: [{ $ifNull: ['$data', {}] }, { reason }] }, '$data'],
          },
          actorType: { $ifNull: ['$actorType', 'user'] },
          actorId: { $cond: [{ $eq: ['$type', 'login.failed'] }, null, { $ifNull: ['$userId', null] }] },
          type: { $switch: { branches, default: '$type' } },
        },
      },
    ];
    await this.model.updateMany({ type: { $in: legacy } }, pipeline, { updatePipeline: true });
  }
}
