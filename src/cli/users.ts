import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { parse as parseCsv, type CsvError } from 'csv-parse';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { ConfigError, loadConfig, type Config, type RealmConfig } from '../config/index.ts';
import { servedRealms } from './realms.ts';
import { UniqueViolation, type Store } from '../store/port.ts';
import { SqliteStore } from '../store/sqlite/index.ts';
import { CSV_COLUMNS, describeRowIssues, fromCsvRow, importRowSchema, stableUserId, toCsvRow, toExported, toUserRecord } from './user-record.ts';

/** Users read from the store at a time: memory stays the same for ten users or ten million. */
export const EXPORT_PAGE = 500;

export type Format = 'jsonl' | 'csv';

/** A mistake in the command line or the configuration: one message, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command line itself is wrong: the usage follows the message. */
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** The file cannot be read as a whole (a CSV header naming unknown columns): reported at its line, exit code 2. */
export class ImportAborted extends Error {
  override name = 'ImportAborted';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The store the server would use with this configuration (src/main.ts
 * `compose`): MongoDB with MONGODB_URL, else the SQLite file in DATA_DIR.
 * The one place the CLI picks an adapter.
 */
export async function openStore(config: Config): Promise<Store> {
  if (config.mongodbUrl) {
    // Loaded only then, as the server does: the SQLite setup does not load mongoose.
    const { openMongoStore } = await import('../store/mongo/index.ts');
    try {
      return await openMongoStore(config.mongodbUrl);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return new SqliteStore(path.join(config.dataDir, 'gatehouse.sqlite'));
}

/** The export, a chunk of text per page of users. `counted` hears how many users each chunk holds. */
async function* exportChunks(store: Store, realmId: string, format: Format, counted: (n: number) => void): AsyncGenerator<string> {
  if (format === 'csv') yield stringifyCsv([[...CSV_COLUMNS]]);
  let after: string | null = null;
  for (;;) {
    const page = await store.listUsers(realmId, after, EXPORT_PAGE);
    if (page.length === 0) return;
    const users = page.map(toExported);
    yield format === 'csv' ? stringifyCsv(users.map(toCsvRow)) : users.map((u) => `${JSON.stringify(u)}\n`).join('');
    counted(page.length);
    if (page.length < EXPORT_PAGE) return;
    after = page.at(-1)!.user.id;
  }
}

/**
 * Writes every user of the realm to `out`, page by page in id order; the
 * next page is read only once `out` has taken the last one (backpressure).
 * Returns how many users were written. `end: false` leaves `out` open
 * (standard output).
 */
export async function exportUsers(store: Store, realmId: string, format: Format, out: Writable, options: { end?: boolean } = {}): Promise<number> {
  let count = 0;
  // Two pages in flight at most: one being written, one read ahead.
  const source = Readable.from(exportChunks(store, realmId, format, (n) => (count += n)), { highWaterMark: 1 });
  await pipeline(source, out, { end: options.end ?? true });
  return count;
}

export interface ImportSummary {
  created: number;
  updated: number;
  failed: number;
}

/** A refused row: its line in the file (1 is the first) and why. */
export type RowReport = (line: number, message: string) => void;

const TAKEN: Record<UniqueViolation['field'], string> = {
  username: 'username: taken by another user of the realm',
  email: 'email: taken by another user of the realm (its emails are unique)',
  phone: 'phone: taken by another user of the realm',
  identity: 'identities: an identity of this row is linked to another user of the realm',
  id: 'id: the id of a user of another realm',
  // Not raised by a user's rows (memberships and groups are not imported): there for the type's sake.
  membership: 'membership: the user has it already',
  group: 'group: the realm has a group of that name',
};

/** Rows as (line, parsed JSON value or a reason it has none), in file order. */
type Row = { line: number; value: unknown } | { line: number; refused: string };

async function* jsonlRows(input: Readable): AsyncGenerator<Row> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) };
    } catch {
      yield { line, refused: 'not a JSON object' };
    }
  }
}

/**
 * CSV rows by the header's column names. A record the parser cannot read
 * (an unclosed quote, a wrong number of cells) is a refused row, not the end
 * of the file; the parser tells of those ahead of the records before them,
 * so they wait here to be handed on in line order.
 */
async function* csvRows(input: Readable): AsyncGenerator<Row> {
  const known = new Set<string>(CSV_COLUMNS);
  const skipped: Row[] = [];
  const parser = parseCsv({
    bom: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    columns: (header: string[]) => {
      const unknown = header.filter((c) => !known.has(c));
      if (unknown.length > 0) throw new ImportAborted(1, `unknown column ${unknown.join(', ')} (the columns are ${CSV_COLUMNS.join(', ')})`);
      const twice = header.filter((c, i) => header.indexOf(c) !== i);
      if (twice.length > 0) throw new ImportAborted(1, `column ${twice.join(', ')} appears twice`);
      return header;
    },
  });
  parser.on('skip', (err: CsvError & { lines?: number }) => skipped.push({ line: err.lines ?? 0, refused: err.message.replace(/ (on|at) line \d+$/, '') }));
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      while (skipped.length > 0 && skipped[0]!.line < info.lines) yield skipped.shift()!;
      yield { line: info.lines, value: fromCsvRow(record) };
    }
  } catch (err) {
    // The header check throws inside the parser, which wraps what it throws.
    const cause = err instanceof ImportAborted ? err : (err as { cause?: unknown }).cause;
    if (cause instanceof ImportAborted) throw cause;
    throw err;
  }
  yield* skipped;
}

/** Rows read before they are written: the most the import holds in memory, and what one SQLite transaction writes. */
export const IMPORT_BATCH = 500;

/**
 * Runs `write` in one transaction where the store has them to give: SQLite
 * writes a commit's pages to its log on every commit, a cost per commit that
 * would be most of an import's time one row at a time (putUser's own
 * transaction nests as a savepoint, so a refused row still writes nothing).
 * The batch is read from the file first: the write lock is never held while
 * waiting for input. Elsewhere, rows are written one by one.
 */
async function inBatch(store: Store, write: () => Promise<void>): Promise<void> {
  if (!(store instanceof SqliteStore)) return write();
  store.db.exec('BEGIN IMMEDIATE');
  try {
    await write();
    store.db.exec('COMMIT');
  } catch (err) {
    if (store.db.inTransaction) store.db.exec('ROLLBACK');
    throw err;
  }
}

/** The rows of `rows` IMPORT_BATCH at a time. */
async function* batches<T>(rows: AsyncIterable<T>): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= IMPORT_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Reads rows from `input` and writes each valid one with `putUser`, a batch
 * at a time (constant memory). A refused row — invalid, or whose username,
 * email, phone or identity belongs to another user — goes to `report` with
 * its line and the import goes on. Writing by id makes a second run of the
 * same file change nothing.
 */
export async function importUsers(
  store: Store,
  realm: Pick<RealmConfig, 'id' | 'fields'>,
  format: Format,
  input: Readable,
  report: RowReport,
  clock: () => Date = () => new Date(),
): Promise<ImportSummary> {
  const summary: ImportSummary = { created: 0, updated: 0, failed: 0 };
  const emailUnique = realm.fields.emails === 'unique';
  const now = clock();
  const refuse = (line: number, message: string) => {
    summary.failed += 1;
    report(line, message);
  };
  const write = async (row: Row) => {
    if ('refused' in row) return refuse(row.line, row.refused);
    const parsed = importRowSchema.safeParse(row.value);
    if (!parsed.success) return refuse(row.line, describeRowIssues(parsed.error));
    // Only a row without createdAt reads the stored user: it keeps when that user was created.
    const stored = parsed.data.createdAt ? null : await store.findUserById(realm.id, parsed.data.id ?? stableUserId(realm.id, parsed.data.username));
    try {
      summary[await store.putUser(toUserRecord(parsed.data, realm.id, now, stored?.createdAt ?? null), emailUnique)] += 1;
    } catch (err) {
      if (!(err instanceof UniqueViolation)) throw err;
      refuse(row.line, TAKEN[err.field]);
    }
  };
  for await (const batch of batches(format === 'csv' ? csvRows(input) : jsonlRows(input))) {
    await inBatch(store, async () => {
      for (const row of batch) await write(row);
    });
  }
  return summary;
}

export const USERS_USAGE = `Usage:
  gatehouse users export --realm <id> [--format jsonl|csv] [--out <file>]
  gatehouse users import --realm <id> [--format jsonl|csv] [--file <file>]

export writes every user of the realm to the file (standard output by default);
import reads users from the file (standard input by default) and writes them by id.
The format is jsonl unless --format says otherwise or the file name ends in .csv.
Configuration as for the server: GATEHOUSE_CONFIG, DATA_DIR.
Exit codes: 0 done, 2 some rows of an import were refused, 1 usage or configuration error.`;

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

function formatOf(value: string | undefined, file: string | undefined): Format {
  if (value === undefined) return file?.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
  if (value === 'jsonl' || value === 'csv') return value;
  throw new UsageError(`--format must be jsonl or csv, not ${value}`, true);
}

/** Opens `file` for reading before anything is imported, so a wrong path is a usage error and not a crash halfway. */
async function openInput(file: string): Promise<Readable> {
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new UsageError(`cannot read ${file}: ${err.message}`)));
  });
  return stream;
}

async function openOutput(file: string): Promise<Writable> {
  const stream = createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new UsageError(`cannot write ${file}: ${err.message}`)));
  });
  return stream;
}

/** `gatehouse users <export|import> …`: returns the exit code. */
export async function usersCommand(args: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  let store: Store | null = null;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { realm: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, file: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout.write(`${USERS_USAGE}\n`);
      return 0;
    }
    const [command, ...extra] = positionals;
    if (command !== 'export' && command !== 'import') throw new UsageError(command ? `unknown command users ${command}` : 'export or import?', true);
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`, true);
    if (command === 'export' && values.file !== undefined) throw new UsageError('export writes to --out, not --file', true);
    if (command === 'import' && values.out !== undefined) throw new UsageError('import reads --file, not --out', true);
    if (!values.realm) throw new UsageError('--realm is required', true);
    const config = loadConfig(env);
    store = await openStore(config);
    const realms = await servedRealms(config, store);
    const realm = realms.get(values.realm);
    if (!realm) throw new UsageError(`no realm ${values.realm} in ${config.configPath} or made through the API (the realms are ${[...realms.keys()].join(', ')})`);

    if (command === 'export') {
      const format = formatOf(values.format, values.out);
      const out = values.out === undefined ? io.stdout : await openOutput(values.out);
      const count = await exportUsers(store, realm.id, format, out, { end: out !== io.stdout });
      say(`exported ${count} ${count === 1 ? 'user' : 'users'} of realm ${realm.id}`);
      return 0;
    }

    const format = formatOf(values.format, values.file);
    const input = values.file === undefined ? io.stdin : await openInput(values.file);
    let summary: ImportSummary;
    try {
      summary = await importUsers(store, realm, format, input, (line, message) => say(`line ${line}: ${message}`));
    } catch (err) {
      if (!(err instanceof ImportAborted)) throw err;
      say(`line ${err.line}: ${err.message}`);
      say('nothing imported');
      return 2;
    }
    say(`imported into realm ${realm.id}: ${summary.created} created, ${summary.updated} updated, ${summary.failed} failed`);
    return summary.failed > 0 ? 2 : 0;
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof UsageError && !err.showUsage)) {
      say(err.message);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
      // `gatehouse users export … | head`: the reader has what it wanted; the export is not whole.
      say('export stopped: the output was closed before the last user');
      return 1;
    }
    if (err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) {
      say(`${(err as Error).message}\n\n${USERS_USAGE}`);
      return 1;
    }
    throw err;
  } finally {
    await store?.close();
  }
}
