import type Database from 'better-sqlite3';

/**
 * Statements prepared once per SQL text, for adapters whose SQL varies with a request's shape (which filters are
 * present, a limit written into the text): `prepared(sql)` is the same statement every time for the same text.
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
}
