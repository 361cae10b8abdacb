import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A stylesheet whose braces do not balance makes the browser drop every rule after the fault — a page
 * then renders unstyled with no error anywhere (a merge once left three @media blocks open in console.css).
 */
describe('public/css stylesheets', () => {
  const dir = path.resolve('public/css');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.css'))) {
    it(`${file}: every block is closed, none closes twice`, () => {
      const css = readFileSync(path.join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/"[^"]*"|'[^']*'/g, '""');
      let depth = 0;
      let lowest = 0;
      for (const ch of css) {
        if (ch === '{') depth++;
        else if (ch === '}') lowest = Math.min(lowest, --depth);
      }
      expect({ depth, lowest }).toEqual({ depth: 0, lowest: 0 });
    });
  }
});
