import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { CSV_COLUMNS, toCsvRow, toExported } from '../cli/user-record.ts';
import type { RealmConfig } from '../config/index.ts';
import type { UserCursor, UserFilter, UserSort } from '../domain/user-query.ts';
import type { UsersService } from './users.ts';

/** Users read at a time: memory stays flat however many match. */
const EXPORT_PAGE = 1000;

export interface UsersExportQuery {
  filter: UserFilter;
  sort: UserSort;
  /** The columns of `gatehouse users export`: CSV with a header row, or one JSON object a line. */
  format: 'csv' | 'ndjson';
  /** false: the passwordHash column is empty (the management API gives hashes to write keys only; the console never). */
  includePasswordHashes: boolean;
  /**
   * CSV for a spreadsheet (the console's download): a cell starting with =, +, -, @, tab or CR gets a leading `'`
   * so a spreadsheet shows it as text, not a formula (ASVS 1.2.10). Off for the API and the CLI, whose CSV is read
   * back by `gatehouse users import` as typed.
   */
  escapeFormulas?: boolean;
}

/**
 * The users matching `q.filter`, in `q.sort` order, as text handed to `sink`
 * a page at a time (the CSV header first). The next page is read only once
 * `sink` has resolved: a sink that waits for its reader (backpressure) keeps
 * memory flat for ten users or ten million. A sink that throws ends the
 * export with its error (the reader has gone). Returns how many users were written.
 */
export async function exportUsers(users: UsersService, realm: RealmConfig, q: UsersExportQuery, sink: (chunk: string) => Promise<void>): Promise<number> {
  const csv = q.format === 'csv';
  if (csv) await sink(stringifyCsv([[...CSV_COLUMNS]]));
  let count = 0;
  let after: UserCursor | null = null;
  for (;;) {
    const page = await users.list(realm, q.filter, q.sort, after, EXPORT_PAGE);
    const records = await users.records(realm, page.users);
    const rows = records.map((r) => toExported(q.includePasswordHashes ? r : { ...r, passwordHash: null }));
    if (rows.length > 0) await sink(csv ? stringifyCsv(rows.map(toCsvRow), { escape_formulas: q.escapeFormulas === true }) : rows.map((u) => `${JSON.stringify(u)}\n`).join(''));
    count += rows.length;
    if (!page.next) return count;
    after = page.next;
  }
}
