import { z } from 'zod';

/**
 * Form fields. Every message is a locale key. A field that arrives as an array
 * (`a=1&a=2`) or with control characters (CR/LF header injection) fails here,
 * before any service sees it.
 */
const noControlChars = (v: string) => !/[\u0000-\u001f\u007f\ufffd]/.test(v);

export const field = {
  text: (max: number) =>
    z
      .string({ error: 'validation.invalid' })
      .max(max, 'validation.tooLong')
      .refine(noControlChars, 'validation.invalidChars')
      .transform((v) => v.trim()),
  requiredText: (max: number) => field.text(max).refine((v) => v.length > 0, 'validation.required'),
  email: () =>
    field
      .requiredText(254)
      .pipe(z.email('validation.email')),
  /** Passwords are never trimmed or truncated (ASVS 6.2.3); the policy checks length. */
  password: () => z.string({ error: 'validation.invalid' }).min(1, 'validation.required').max(4096, 'validation.tooLong'),
  optionalText: (max: number) => field.text(max).optional(),
  /** An authenticator app's 6-digit code, as apps show it: "123456" or "123 456". */
  totp: () => field.requiredText(20).pipe(z.string().regex(/^\d{3} ?\d{3}$/, 'validation.totp')),
};

export type FormResult<T> = { ok: true; data: T } | { ok: false; field: string; messageKey: string; values: Record<string, string> };

/** Parses a form body; on failure names the first bad field and keeps the values worth showing again. */
export function parseForm<T>(schema: z.ZodType<T>, body: unknown, keep: readonly string[]): FormResult<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0]!;
  const source = (body ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const k of keep) if (typeof source[k] === 'string') values[k] = source[k] as string;
  return { ok: false, field: String(issue.path[0] ?? ''), messageKey: issue.message.startsWith('validation.') ? issue.message : 'validation.invalid', values };
}
