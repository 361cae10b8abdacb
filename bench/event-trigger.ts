/**
 * What migration 013's trigger (events counted per realm, UTC day and type) costs an event append on SQLite.
 * Appends N events through SqliteEvents.append into a fresh database file (WAL, synchronous=NORMAL, as the
 * store runs) with the trigger and with it dropped, in alternating rounds, and prints the median µs per
 * append: one commit per append (as most writes are) and 1000 appends per transaction (the CPU cost alone).
 * Then times the migration's back-fill of N logged events. Run: npx tsx bench/event-trigger.ts [N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NO_REQUEST, type EventType, type NewEvent } from '../src/domain/events.ts';
import { SqliteStore } from '../src/store/sqlite/index.ts';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = 3;
const TYPES: EventType[] = ['user.login.succeeded', 'session.created', 'user.login.failed', 'user.created', 'session.deleted', 'user.updated'];
const START = Date.UTC(2025, 0, 1);
const SPAN = 30 * 86_400_000;

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-trigger-'));
let files = 0;

/** The i-th event: three realms, six types, times spread over 30 days. */
function eventAt(i: number): NewEvent {
  return {
    realmId: `realm-${i % 3}`,
    type: TYPES[i % TYPES.length]!,
    userId: `user-${i % 5000}`,
    actor: { type: 'user', id: `user-${i % 5000}` },
    request: { ...NO_REQUEST, ip: '192.0.2.1', userAgent: 'Mozilla/5.0 (bench)' },
    at: new Date(START + Math.floor((i / N) * SPAN)),
    data: { method: 'pwd', sid: `s${i}` },
  } as NewEvent;
}

function freshStore(trigger: boolean): SqliteStore {
  const store = new SqliteStore(path.join(dir, `db-${++files}`, 'gatehouse.sqlite'));
  if (!trigger) store.db.exec('DROP TRIGGER events_day_count');
  return store;
}

/** µs per append of N events, `batch` appends per transaction (1: each its own commit). */
async function run(trigger: boolean, batch: number): Promise<number> {
  const store = freshStore(trigger);
  try {
    const inTx = store.db.transaction((from: number, to: number) => store.events.insertAll(Array.from({ length: to - from }, (_, k) => eventAt(from + k))));
    const started = performance.now();
    if (batch === 1) {
      for (let i = 0; i < N; i++) await store.events.append(eventAt(i));
    } else {
      for (let i = 0; i < N; i += batch) inTx(i, Math.min(N, i + batch));
    }
    const us = ((performance.now() - started) * 1000) / N;
    const counted = Number(store.db.prepare('SELECT COALESCE(SUM(n), 0) FROM event_day_counts').pluck().get());
    if (counted !== (trigger ? N : 0)) throw new Error(`counted ${counted} of ${N} events`);
    return us;
  } finally {
    await store.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toFixed(2).padStart(7);

try {
  console.log(`event appends on SQLite (file, WAL, synchronous=NORMAL), ${N} events, median of ${ROUNDS} alternating rounds`);
  for (const [label, batch] of [['one commit per append', 1], ['1000 appends per transaction', 1000]] as const) {
    const without: number[] = [];
    const withTrigger: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      without.push(await run(false, batch));
      withTrigger.push(await run(true, batch));
    }
    const a = median(without);
    const b = median(withTrigger);
    console.log(`${label.padEnd(30)} without trigger ${fmt(a)} µs   with trigger ${fmt(b)} µs   cost ${fmt(b - a)} µs (${(((b - a) / a) * 100).toFixed(0)}%)`);
  }

  // The back-fill: migration 013's INSERT … SELECT over a log of N events, timed alone.
  const store = freshStore(false);
  try {
    store.db.transaction(() => store.events.insertAll(Array.from({ length: N }, (_, i) => eventAt(i))))();
    store.db.exec('DELETE FROM event_day_counts');
    const started = performance.now();
    store.db.exec("INSERT INTO event_day_counts (realm_id, day, type, n) SELECT realm_id, date(at / 1000, 'unixepoch'), type, COUNT(*) FROM events GROUP BY 1, 2, 3");
    const ms = performance.now() - started;
    const rows = Number(store.db.prepare('SELECT COUNT(*) FROM event_day_counts').pluck().get());
    console.log(`back-fill of ${N} logged events: ${ms.toFixed(0)} ms (${rows} count rows)`);
  } finally {
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
