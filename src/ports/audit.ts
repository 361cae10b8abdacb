/** An audit entry (DESIGN.md §2): who changed what, when, from which request, before and after (secrets redacted). */
export interface AuditEntry {
  id: string;
  /** null: not of one realm (a management key for every realm). */
  realmId: string | null;
  at: Date;
  actor: { type: 'api_key' | 'operator' | 'cli' | 'user'; id: string | null };
  /** e.g. "user.update", "api_key.create". */
  operation: string;
  target: { type: string; id: string | null };
  requestId: string | null;
  ip: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface AuditQuery {
  /** undefined: every realm's entries and the global ones. */
  realmId?: string;
  targetId?: string;
  /** Entries older than this id (newest first). */
  before?: string;
  limit: number;
}

export interface AuditPort {
  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;
}
