/**
 * The configuration reference's tables, generated from the zod schemas
 * (src/config/schema.ts, src/domain/realm-settings.ts) through
 * z.toJSONSchema(): each table sits in README.md and docs/configuration.md
 * between `<!-- config:<table>:start -->` and `<!-- config:<table>:end -->`,
 * the prose around it written by hand. `npx tsx scripts/config-doc.ts --write`
 * rewrites them; without --write it names the files that differ.
 * test/unit/config-doc.test.ts fails while one does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { appSchema, envObject, fileSchema, providerSchema, realmSchema } from '../src/config/schema.ts';

type JsonSchema = z.core.JSONSchema.JSONSchema;

export const CONFIG_DOCS = ['../README.md', '../docs/configuration.md'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** The row of one key: its dotted path, and its type, default and description as markdown. */
export interface KeyRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

function jsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    io: 'input',
    // In input mode zod drops the default of a schema that transforms (its default is an output value):
    // the reader wants it all the same (`hosts: []`, `LOG_REQUESTS: true`).
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema instanceof z.ZodDefault && !('default' in jsonSchema)) jsonSchema.default = zodSchema.def.defaultValue;
    },
  });
}

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

/** `, 1–60`, `, ≥ 1` or nothing; zod's int() bound of ±2^53 is no rule a reader needs. */
function range(min: number | undefined, max: number | undefined, unit = ''): string {
  const [lo, hi] = [min, max].map((n) => (n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined));
  if (lo !== undefined && hi !== undefined) return `, ${lo}–${hi}${unit}`;
  if (lo !== undefined) return `, ≥ ${lo}${unit}`;
  return hi !== undefined ? `, ≤ ${hi}${unit}` : '';
}

/** The type and its bounds (a pattern or an array's length is the description's to say); `bare`: the type alone. */
function typeOf(s: JsonSchema, bare = false): string {
  if (s.const !== undefined) return code(s.const);
  if (s.enum) return s.enum.map(code).join(' | ');
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return [...new Set(variants.map((v) => typeOf(v as JsonSchema, bare)))].join(' | ');
  switch (s.type) {
    case 'integer':
    case 'number':
      return bare ? s.type : `${s.type}${range(s.minimum, s.maximum)}`;
    case 'string':
      return bare || s.pattern ? 'string' : `string${range(s.minLength, s.maxLength, ' characters')}`;
    case 'array':
      return `${typeOf(s.items as JsonSchema, true)}[]`;
    default:
      return String(s.type);
  }
}

/** An object, or an array of objects, whose keys are described: the table lists each of them. */
function describedChildren(s: JsonSchema): Record<string, JsonSchema> | null {
  const target = s.type === 'array' ? (s.items as JsonSchema) : s;
  const properties = (target.properties ?? {}) as Record<string, JsonSchema>;
  return Object.values(properties).some((p) => p.description) ? properties : null;
}

/**
 * One row per key, depth first. An object whose keys carry descriptions is
 * expanded (`fields.apiKeys.policy`, `account.attributes[].key`), with a row of
 * its own when it is described too; `stop` names the keys another table
 * documents (a realm's apps).
 */
function keyRows(s: JsonSchema, stop: readonly string[] = [], prefix = ''): KeyRow[] {
  const required = new Set(s.required ?? []);
  return Object.entries((s.properties ?? {}) as Record<string, JsonSchema>).flatMap(([name, p]) => {
    const key = prefix + name;
    const row: KeyRow = {
      key,
      type: typeOf(p),
      default: p.default !== undefined ? code(p.default) : required.has(name) ? '*(required)*' : '*(unset)*',
      description: p.description ?? '',
    };
    const children = stop.includes(key) ? null : describedChildren(p);
    if (!children) return [row];
    const nested = keyRows({ properties: children, required: (p.type === 'array' ? (p.items as JsonSchema) : p).required }, stop, `${key}${p.type === 'array' ? '[]' : ''}.`);
    return p.description ? [row, ...nested] : nested;
  });
}

/** The keys of a discriminated union (social providers), each with the variants that have it and their defaults. */
function unionRows(s: JsonSchema, tag: string): KeyRow[] {
  const variants = (s.oneOf ?? s.anyOf ?? []).map((v) => {
    const variant = v as JsonSchema;
    return { name: String((variant.properties?.[tag] as JsonSchema).const), rows: keyRows(variant) };
  });
  const keys = [...new Set(variants.flatMap((v) => v.rows.map((r) => r.key)))];
  return keys.map((key) => {
    const present = variants.flatMap((v) => v.rows.filter((r) => r.key === key).map((row) => ({ name: v.name, row })));
    const first = present[0]!.row;
    if (key === tag) return { ...first, type: present.map((p) => code(p.name)).join(' | ') };
    const defaults = new Map<string, string[]>();
    for (const { name, row } of present) defaults.set(row.default, [...(defaults.get(row.default) ?? []), name]);
    const only = present.length < variants.length ? `*${present.map((p) => p.name).join(', ')} only.* ` : '';
    return {
      ...first,
      default: defaults.size === 1 ? first.default : [...defaults].map(([value, names]) => `${names.join(', ')}: ${value}`).join('; '),
      description: only + first.description,
    };
  });
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

export function envRows(): KeyRow[] {
  return keyRows(jsonSchema(envObject));
}

/** The rows of each file table: the top level, a realm, an app, a social provider. */
export function fileRows(): Record<'file' | 'realm' | 'app' | 'provider', KeyRow[]> {
  return {
    file: keyRows(jsonSchema(fileSchema), ['realms']),
    realm: keyRows(jsonSchema(realmSchema), ['apps', 'social.providers']),
    app: keyRows(jsonSchema(appSchema)),
    provider: unionRows(jsonSchema(providerSchema), 'type'),
  };
}

/** Every generated table, by the name in its markers. */
export function renderConfigTables(): Record<string, string> {
  const keyTable = (rows: KeyRow[]) => table(['key', 'type', 'default', 'meaning'], rows.map((r) => [`\`${r.key}\``, r.type, r.default, r.description]));
  return {
    env: table(['variable', 'default', 'meaning'], envRows().map((r) => [`\`${r.key}\``, r.default, r.description])),
    ...Object.fromEntries(Object.entries(fileRows()).map(([name, rows]) => [name, keyTable(rows)])),
  };
}

/**
 * `text` with what sits between each `<!-- config:<name>:start -->` and
 * `<!-- config:<name>:end -->` replaced by its table. A marker without its
 * pair, or of an unknown table, is an error: a table never silently goes stale.
 */
export function withConfigTables(text: string, tables: Record<string, string> = renderConfigTables()): string {
  const starts = [...text.matchAll(/<!-- config:([\w-]+):start -->/g)].map((m) => m[1]!);
  for (const name of starts) if (!(name in tables)) throw new Error(`no generated table is called "${name}"`);
  return text.replace(/<!-- config:([\w-]+):start -->[\s\S]*?<!-- config:([\w-]+):end -->/g, (whole, start: string, end: string) => {
    if (start !== end) throw new Error(`<!-- config:${start}:start --> ends with <!-- config:${end}:end -->`);
    return `<!-- config:${start}:start -->\n${tables[start]}\n<!-- config:${start}:end -->`;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tables = renderConfigTables();
  const stale = CONFIG_DOCS.filter((file) => {
    const text = readFileSync(file, 'utf8');
    const next = withConfigTables(text, tables);
    if (next !== text && process.argv.includes('--write')) writeFileSync(file, next);
    return next !== text;
  });
  if (process.argv.includes('--write')) console.log(stale.length ? `wrote ${stale.join(', ')}` : 'up to date');
  else if (stale.length) {
    console.error(`out of date (run with --write): ${stale.join(', ')}`);
    process.exitCode = 1;
  }
}
