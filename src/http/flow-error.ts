/**
 * What a service throws when a flow cannot go on: an HTTP status and a locale
 * key, never a bare string. Routes re-render their form with the translated
 * message; anything else reaching the error handler gets an error page.
 */
export class FlowError extends Error {
  override name = 'FlowError';
  constructor(
    readonly status: number,
    readonly messageKey: string,
    readonly params: Record<string, string | number> = {},
    /** The form field the message belongs to, when there is one. */
    readonly field?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(messageKey);
  }
}

/** Rate-limit refusals carry the wait, rounded up to whole minutes for the page. */
export function tooManyAttempts(retryAfterMs: number): FlowError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new FlowError(429, 'rateLimit.tooMany', { minutes: Math.max(1, Math.ceil(seconds / 60)) }, undefined, seconds);
}
