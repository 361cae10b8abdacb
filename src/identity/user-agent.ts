import { lazyModule } from '../lazy-module.ts';

const bowser = lazyModule<typeof import('bowser')>('bowser');

export interface DeviceDescription {
  /** "Chrome 131", or null when the user agent says nothing usable. */
  browser: string | null;
  /** "macOS 14.5", "Android 15". */
  os: string | null;
  /** desktop | mobile | tablet | tv | bot | null */
  kind: string | null;
}

/** Only the major version: "Chrome 131.0.6778.86" says more than a person needs. */
const major = (v: string | undefined) => (v ? v.split('.')[0] : '');

/** A user agent as the sessions and history pages show it (browser, OS, device kind). */
export function describeUserAgent(userAgent: string | null): DeviceDescription {
  if (!userAgent) return { browser: null, os: null, kind: null };
  const parsed = bowser().parse(userAgent);
  const browser = parsed.browser.name ? `${parsed.browser.name} ${major(parsed.browser.version)}`.trim() : null;
  // Browsers freeze the macOS and Windows versions they report (10.15.7, NT 10.0): naming one would mislead.
  const osVersion = parsed.os.name === 'macOS' || parsed.os.name === 'Windows' ? '' : major(parsed.os.version);
  const os = parsed.os.name ? `${parsed.os.name} ${osVersion}`.trim() : null;
  return { browser, os, kind: parsed.platform.type ?? null };
}
