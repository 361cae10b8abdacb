import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, LEGACY_EVENT_TYPES, SIGN_IN_EVENT_TYPES, isEventType } from '../../src/domain/events.ts';
import { EVENTS_DOC, renderEventsDoc } from '../../scripts/events-doc.ts';

describe('event catalogue', () => {
  it('is what docs/events.md lists (run `npx tsx scripts/events-doc.ts` after changing it)', () => {
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    for (const type of EVENT_TYPES) expect(doc, type).toContain(`\`${type}\``);
    expect(doc).toBe(renderEventsDoc());
  });

  it('names every type as lowercase dotted segments, user.* / session.* / realm.* / app.* / org.* / membership.* / group.* / invitation.*', () => {
    for (const type of EVENT_TYPES) expect(type).toMatch(/^(user|session|realm|app|org|membership|group|invitation)(\.[a-z][a-z_]*)+$/);
  });

  it('renames every old name to a type of the catalogue, and no new name is an old one', () => {
    for (const [from, to] of Object.entries(LEGACY_EVENT_TYPES)) {
      expect(isEventType(to), from).toBe(true);
      expect(isEventType(from), from).toBe(false);
    }
    for (const type of SIGN_IN_EVENT_TYPES) expect(isEventType(type)).toBe(true);
  });

  it('leaves no old event name in the source', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const path = await import('node:path');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith('.ts')) files.push(full);
      }
    };
    walk(new URL('../../src', import.meta.url).pathname);
    const offenders = files.flatMap((f) => {
      if (f.endsWith(path.join('domain', 'events.ts'))) return [];
      const text = readFileSync(f, 'utf8');
      return Object.keys(LEGACY_EVENT_TYPES)
        .filter((old) => text.includes(`type: '${old}'`))
        .map((old) => `${f}: ${old}`);
    });
    expect(offenders).toEqual([]);
  });
});
