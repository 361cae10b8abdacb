import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS } from '../../src/config/schema.ts';
import { CONFIG_DOCS, envRows, fileRows, renderConfigTables, withConfigTables } from '../../scripts/config-doc.ts';

describe('configuration reference', () => {
  it.each(CONFIG_DOCS.map((file) => [path.basename(file), file]))('%s holds the tables the schema makes (run `npx tsx scripts/config-doc.ts --write` after changing it)', (_name, file) => {
    const doc = readFileSync(file, 'utf8');
    for (const name of Object.keys(renderConfigTables())) {
      expect(doc, name).toContain(`<!-- config:${name}:start -->`);
      expect(doc, name).toContain(`<!-- config:${name}:end -->`);
    }
    expect(doc).toBe(withConfigTables(doc));
  });

  it('describes every environment variable and every key of the file', () => {
    expect(envRows().map((r) => r.key)).toEqual(ENV_KEYS);
    const undescribed = [...envRows(), ...Object.values(fileRows()).flat()].filter((r) => !r.description).map((r) => r.key);
    expect(undescribed).toEqual([]);
  });

  it('lists nested keys by their dotted path, with their defaults', () => {
    const realm = fileRows().realm;
    expect(realm.find((r) => r.key === 'fields.apiKeys.policy')).toMatchObject({ type: '`hash` | `encrypt`', default: '`hash`' });
    expect(realm.find((r) => r.key === 'fields.apiKeys.prefix')).toMatchObject({ default: '*(unset)*' });
    expect(realm.find((r) => r.key === 'account.attributes[].key')).toMatchObject({ default: '*(required)*' });
    // Defaults of transforming schemas, which z.toJSONSchema's input mode leaves out.
    expect(realm.find((r) => r.key === 'hosts')).toMatchObject({ default: '`[]`' });
    expect(envRows().find((r) => r.key === 'LOG_REQUESTS')).toMatchObject({ default: '`true`' });
  });

  it('refuses a marker of no table, and a table that ends with another one’s marker', () => {
    expect(() => withConfigTables('<!-- config:nope:start -->\n<!-- config:nope:end -->')).toThrow(/nope/);
    expect(() => withConfigTables('<!-- config:env:start -->\n<!-- config:app:end -->')).toThrow(/ends with/);
  });
});
