/**
 * Moments in the page's language (views/partials/when.ejs): the date and time, its long form for the title, and
 * "5 minutes ago". Intl formatters are built once per language — making one costs ~150 µs, formatting with
 * one ~1 µs, and a users page shows a hundred moments.
 */
export interface Moments {
  /** "7 Dec 2026, 11:26". */
  short(at: Date): string;
  /** "Monday 7 December 2026 at 11:26:31 UTC". */
  full(at: Date): string;
  /** "5 minutes ago", "yesterday"; the short form beyond a week. */
  relative(at: Date, now: Date): string;
}

const WEEK_MS = 7 * 86_400_000;

function momentsOf(lang: string): Moments {
  const short = new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const full = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'long' });
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  return {
    short: (at) => short.format(at),
    full: (at) => full.format(at),
    relative(at, now) {
      const ms = at.getTime() - now.getTime();
      if (Math.abs(ms) >= WEEK_MS) return short.format(at);
      const minutes = Math.round(ms / 60_000);
      if (Math.abs(minutes) < 1) return rtf.format(0, 'second');
      if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
      if (Math.abs(minutes) < 1440) return rtf.format(Math.round(minutes / 60), 'hour');
      return rtf.format(Math.round(minutes / 1440), 'day');
    },
  };
}

const BY_LOCALE = new Map<string, Moments>();

/** The formatters of one of the languages Gatehouse speaks (i18n.ts's locales), built on first use. */
export function momentsFor(lang: string): Moments {
  let m = BY_LOCALE.get(lang);
  if (!m) BY_LOCALE.set(lang, (m = momentsOf(lang)));
  return m;
}
