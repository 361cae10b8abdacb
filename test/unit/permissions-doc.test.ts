import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PERMISSION_CASES } from '../helpers/permission-cases.ts';

/** The README's `hasPermission` for apps ("Nesting permissions") follows the same rule as src/domain/permissions.ts. */
describe('README hasPermission', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- hasPermission:[^\n]*-->\n```js\n([\s\S]*?)```/.exec(readme)?.[1];

  it('is eight lines of JavaScript', () => {
    expect(block).toBeDefined();
    expect(block!.trimEnd().split('\n')).toHaveLength(8);
  });

  it('decides every case of the permission table as the domain rule does', () => {
    const hasPermission = new Function(`${block!}\nreturn hasPermission;`)() as (held: string[] | undefined, wanted: string) => boolean;
    for (const [held, wanted, granted] of PERMISSION_CASES) expect(hasPermission(held, wanted), `${JSON.stringify(held)} ${wanted}`).toBe(granted);
    expect(hasPermission(undefined, 'x')).toBe(false);
  });
});
