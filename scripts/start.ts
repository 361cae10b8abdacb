/**
 * `npm start`: Gatehouse on the embedded store plus the demo client app, for
 * clicking through the whole redirect protocol on one machine.
 */
import { startDemo } from '../examples/demo-app/server.ts';
import { main } from '../src/main.ts';

/** The development operator, owner of every realm, made on the first `npm start` with a console. */
const DEMO_OPERATOR = 'operator@example.com';

const running = await main();
const realm = running.gatehouse.realms.defaultRealm;
// Development only: no demo operator where the server runs as production or test.
const development = (process.env.NODE_ENV ?? 'development') === 'development';
const demo = development && running.gatehouse.management ? await running.gatehouse.management.operators.ensureDemo(DEMO_OPERATOR) : null;
const consoleLine = demo?.consoleUrl ? `  Console    ${demo.consoleUrl}${demo.setupLink ? `   first time: open ${demo.setupLink}` : `   (${DEMO_OPERATOR})`}\n` : '';
const demoApp = realm.apps.find((a) => a.clientId === 'demo');
if (demoApp) {
  const callback = new URL(demoApp.redirectUris[0]!);
  const server = await startDemo({ port: Number(callback.port), gatehouseUrl: realm.publicUrl, clientId: demoApp.clientId, publicUrl: callback.origin });
  process.once('SIGTERM', () => server.close());
  process.once('SIGINT', () => server.close());
  console.log(`\n  Gatehouse  ${realm.publicUrl}\n  Demo app   ${callback.origin}  ← open this, click "Log in"\n${consoleLine}`);
}
