/**
 * A tiny client app, the way an app integrates Gatehouse (README: "The redirect
 * protocol"): send the user to /login with redirect_uri and state, receive the
 * JWT by form_post at /callback, verify it against the realm's JWKS.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface DemoOptions {
  port: number;
  /** Where Gatehouse is served (the realm's publicUrl). */
  gatehouseUrl: string;
  clientId: string;
  /** This app's own origin, e.g. http://localhost:3001. */
  publicUrl: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)} · Demo app</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
main{max-width:720px;margin:0 auto;padding:48px 20px}
h1{font-size:28px;margin:0 0 8px}p{color:#94a3b8}
a.button{display:inline-block;margin:16px 12px 0 0;padding:10px 18px;border-radius:8px;background:#6366f1;color:#fff;text-decoration:none;font-weight:600}
a.secondary{background:#1e293b;border:1px solid #334155}
table{border-collapse:collapse;width:100%;margin-top:20px;font-size:14px}
td{border-bottom:1px solid #1e293b;padding:8px;vertical-align:top;word-break:break-all}td:first-child{color:#94a3b8;white-space:nowrap}
.ok{color:#4ade80}.err{color:#f87171}
</style></head><body><main>${body}</main></body></html>`;
}

export function createDemoApp(opts: DemoOptions): express.Express {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', opts.gatehouseUrl));
  const callback = `${opts.publicUrl}/callback`;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));

  /** GET / — the app's home page: log in or sign up through Gatehouse. */
  app.get('/', (_req, res) => {
    const state = randomBytes(16).toString('base64url');
    // The state ties the callback to this browser (no login CSRF).
    res.cookie('demo_state', state, { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60 * 1000 });
    const q = new URLSearchParams({ redirect_uri: callback, state, client_id: opts.clientId });
    res.type('html').send(
      page(
        'Home',
        `<h1>Demo app</h1><p>This app has no passwords of its own. Gatehouse signs users in and sends them back here with a signed JWT.</p>
<a class="button" id="login" href="${escape(`${opts.gatehouseUrl}/login?${q}`)}">Log in</a>
<a class="button secondary" id="signup" href="${escape(`${opts.gatehouseUrl}/signup?${q}`)}">Sign up</a>`,
      ),
    );
  });

  /** POST /callback — Gatehouse delivers the JWT here (form_post). */
  app.post('/callback', async (req, res) => {
    const token = typeof req.body.token === 'string' ? req.body.token : '';
    const state = typeof req.body.state === 'string' ? req.body.state : '';
    const expected = /(?:^|;\s*)demo_state=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
    if (!state) {
      // A token this app did not ask for (e.g. an org invitation accepted at Gatehouse, whose returnTo is this
      // app): never trusted as a login (login CSRF). Start a login of our own instead: the user is signed in at
      // Gatehouse, so single sign-on brings them straight back with a token bound to this browser's state.
      const fresh = randomBytes(16).toString('base64url');
      res.cookie('demo_state', fresh, { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60 * 1000 });
      res.redirect(303, `${opts.gatehouseUrl}/login?${new URLSearchParams({ redirect_uri: callback, state: fresh, client_id: opts.clientId })}`);
      return;
    }
    if (!state || state.length !== expected.length || !timingSafeEqual(Buffer.from(state), Buffer.from(expected))) {
      res.status(400).type('html').send(page('Error', '<h1 class="err">State mismatch</h1><p>This response was not started by this browser.</p>'));
      return;
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer: opts.gatehouseUrl, audience: opts.clientId }));
    } catch (err) {
      res.status(401).type('html').send(page('Error', `<h1 class="err">Token rejected</h1><p>${escape((err as Error).message)}</p>`));
      return;
    }
    // A fresh state for the links on this page (the org picker is another round trip to Gatehouse).
    const next = randomBytes(16).toString('base64url');
    res.cookie('demo_state', next, { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60 * 1000 });
    // With orgs in the token (the realm's tokens.fields), the user may switch org: /login?…&org=select.
    const choose = Array.isArray(claims.orgs)
      ? `<a class="button secondary" id="choose-org" href="${escape(`${opts.gatehouseUrl}/login?${new URLSearchParams({ redirect_uri: callback, state: next, client_id: opts.clientId, org: 'select' })}`)}">Choose organization</a>`
      : '';
    const rows = Object.entries(claims)
      .map(([k, v]) => `<tr><td>${escape(k)}</td><td data-claim="${escape(k)}">${escape(JSON.stringify(v))}</td></tr>`)
      .join('');
    const logout = new URLSearchParams({ redirect_uri: `${opts.publicUrl}/`, token_hint: token });
    res.type('html').send(
      page(
        'Signed in',
        `<h1 id="signed-in">Signed in as ${escape(String(claims.preferred_username))}</h1>
<p class="ok">The JWT's signature was verified against ${escape(opts.gatehouseUrl)}/.well-known/jwks.json.</p>
<table>${rows}</table>
<a class="button" id="logout" href="${escape(`${opts.gatehouseUrl}/logout?${logout}`)}">Log out</a>
<a class="button secondary" href="${escape(`${opts.gatehouseUrl}/account`)}">Account</a>
${choose}`,
      ),
    );
  });

  return app;
}

export function startDemo(opts: DemoOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createDemoApp(opts).listen(opts.port, () => resolve(server));
    server.once('error', reject);
  });
}
