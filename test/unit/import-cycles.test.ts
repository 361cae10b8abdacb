import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every relative import (type-only and dynamic ones too) of every file under src/. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) files.push(full);
    }
  };
  walk(SRC);
  const known = new Set(files);
  return new Map(
    files.map((f) => {
      const text = readFileSync(f, 'utf8');
      const specifiers = [...text.matchAll(/^(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm), ...text.matchAll(/\bimport\('(\.[^']+)'\)/g)];
      const deps = specifiers.map((m) => path.resolve(path.dirname(f), m[1]!));
      return [f, deps.filter((d) => known.has(d))];
    }),
  );
}

describe('src/ imports', () => {
  it('have no cycle (identity/events.ts ↔ identity/login-sessions.ts was the last)', () => {
    const graph = importGraph();
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const dep of graph.get(file) ?? []) {
        if (state.get(dep) === 'open') cycles.push(stack.slice(stack.indexOf(dep)).map((f) => path.relative(SRC, f)).join(' → '));
        else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles).toEqual([]);
  });

  it('keep the plumbing apart from the pages: no file of http/ imports one of flows/', () => {
    const inside = (dir: string) => (file: string) => file.startsWith(path.join(SRC, dir) + path.sep);
    const offenders = [...importGraph()]
      .filter(([file]) => inside('http')(file))
      .flatMap(([file, deps]) => deps.filter(inside('flows')).map((dep) => `${path.relative(SRC, file)} → ${path.relative(SRC, dep)}`));
    expect(offenders).toEqual([]);
  });

  it('keep the CLI light: gatehouse loads none of the app (app.ts, main.ts, flows/, http/) at run time', () => {
    // Static imports that stay at run time (not `import type`), followed from the CLI's entry point.
    const runtimeDeps = (file: string) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)(?!\s+type\b)(?:[^'"]*?from)?\s*'(\.[^']+)'/gm)].map((m) => path.resolve(path.dirname(file), m[1]!));
    const reached = new Set<string>();
    const stack = [path.join(SRC, 'cli', 'gatehouse.ts')];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      stack.push(...runtimeDeps(file).filter((d) => d.endsWith('.ts')));
    }
    const app = [...reached].map((f) => path.relative(SRC, f)).filter((f) => f === 'app.ts' || f === 'main.ts' || f.startsWith('flows/') || f.startsWith('http/'));
    expect(reached.size).toBeGreaterThan(10);
    expect(app).toEqual([]);
  });
});
