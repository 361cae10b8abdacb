/**
 * Real parts (Redis, Chromium, SMTP) are required under CI and optional on a
 * developer's machine: there a missing part skips its tests with a loud reason;
 * under CI=true the same situation fails the run.
 */
export const UNDER_CI = process.env.CI === 'true' || process.env.CI === '1';

export function partAvailable(name: string, available: boolean, howToGet: string): boolean {
  if (available) return true;
  const message = `${name} is not available: ${howToGet}`;
  if (UNDER_CI) throw new Error(`${message} (required under CI)`);
  console.warn(`\n!!! SKIPPING tests that need ${message}\n`);
  return false;
}
