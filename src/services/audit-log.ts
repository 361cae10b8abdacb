import type { AuditEntry, AuditPort, AuditQuery } from '../ports/audit.ts';
import type { RequestContext } from './context.ts';

/**
 * Field names whose values never reach the audit log (before/after keep the key, with the value replaced).
 * A realm's `tokens` settings section (what the JWT carries, its lifetime and algorithm) holds no secret and is
 * audited like any other: only a key naming one token (`token`, `accessToken`, `tokenHash`…) is hidden.
 */
const SECRET_FIELD = /password|secret|hash|sealed|apikey|token(?!s$)|^key$/i;

/** A copy of `value` with every secret field's value replaced by "[redacted]", however deep. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? (v == null ? v : '[redacted]') : redact(v);
    return out;
  }
  return value;
}

export interface AuditWrite {
  realmId: string | null;
  operation: string;
  target: { type: string; id: string | null };
  before?: object | null;
  after?: object | null;
}

/** Every management write adds one entry (DESIGN.md §8). */
export class AuditLog {
  constructor(
    private readonly port: AuditPort,
    private readonly clock: () => Date,
  ) {}

  record(ctx: RequestContext, write: AuditWrite): Promise<void> {
    return this.port.appendAudit({
      realmId: write.realmId,
      at: this.clock(),
      actor: ctx.actor,
      operation: write.operation,
      target: write.target,
      requestId: ctx.requestId,
      ip: ctx.ip,
      before: write.before ? (redact(write.before) as Record<string, unknown>) : null,
      after: write.after ? (redact(write.after) as Record<string, unknown>) : null,
    });
  }

  query(query: AuditQuery): Promise<AuditEntry[]> {
    return this.port.queryAudit(query);
  }
}
