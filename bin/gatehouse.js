#!/usr/bin/env node
// The CLI is TypeScript run by tsx, like the server (`npm run serve`): registered in this process
// rather than spawned, so standard streams, signals and the exit code are the command's own.
// Without tsx (production dependencies only), the compiled CLI of `npm run build` runs instead.
let api = null;
try {
  api = await import('tsx/esm/api');
} catch {
  // not installed: dist/ below
}
if (api) {
  api.register();
  await import('../src/cli/gatehouse.ts');
} else {
  await import('../dist/cli/gatehouse.js');
}
