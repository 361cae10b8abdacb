import type { Response } from 'express';
import { z } from 'zod';
import { FlowError } from './flow-error.ts';

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
  /** A 6-digit code we sent (mail or SMS); `messageKey` is the "not 6 digits" message (a `validation.*` key). */
  code: (messageKey = 'validation.code') => field.requiredText(20).pipe(z.string().regex(/^\d{6}$/, messageKey)),
  /** A username someone chooses (sign-up, profile): letters, digits and . _ -, 2 to 64 of them. */
  username: () => field.requiredText(64).refine((v) => /^[\p{L}\p{N}._-]{2,64}$/u.test(v), 'validation.username'),
};

export type FormResult<T> = { ok: true; data: T } | { ok: false; field: string; messageKey: string; values: Record<string, string> };

/** The posted strings worth showing again after a refusal: the `keep` fields that arrived as strings (never an array). */
export function keptValues(body: unknown, keep: readonly string[]): Record<string, string> {
  const source = (body ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const k of keep) if (typeof source[k] === 'string') values[k] = source[k] as string;
  return values;
}

/** Parses a form body; on failure names the first bad field and keeps the values worth showing again. */
export function parseForm<T>(schema: z.ZodType<T>, body: unknown, keep: readonly string[]): FormResult<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0]!;
  const messageKey = issue.message.startsWith('validation.') ? issue.message : 'validation.invalid';
  return { ok: false, field: String(issue.path[0] ?? ''), messageKey, values: keptValues(body, keep) };
}

/** What a re-rendered form shows: the message (a locale key), its params, and the field it marks (null: the whole form). */
export type FormError = { field: string | null; message: string; params?: Record<string, string | number> };

export function formError(err: FlowError): FormError {
  return { field: err.field ?? null, message: err.messageKey, params: err.params };
}

/**
 * The one `catch` of a form route: a FlowError the route accepts (`when`,
 * by default every one) re-renders the form with the error's message and
 * status; anything else goes on to the error handler. A rate-limit refusal
 * always says when to come back (Retry-After), whichever page shows it.
 * Returns what `rerender` returns, so an async page can be awaited.
 */
export function rerenderOnFlowError<R>(
  res: Response,
  err: unknown,
  rerender: (error: FormError, status: number) => R,
  when: (err: FlowError) => boolean = () => true,
): R {
  if (!(err instanceof FlowError)) throw err;
  if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  if (!when(err)) throw err;
  return rerender(formError(err), err.status);
}
