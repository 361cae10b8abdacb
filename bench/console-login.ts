/**
 * The scale scenario's console operator: made with `gatehouse operators create`
 * on the data folder a server is about to open, then signed in over HTTP as a
 * browser would (setup link → password → /admin/login → hosted login →
 * authenticator enrolment → form_post to /admin/callback), with fetch and a
 * small cookie jar. What the bench keeps is the console's cookie.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { generateSync } from 'otplib';

export const OPERATOR_EMAIL = 'bench-op@example.com';
const OPERATOR_PASSWORD = 'copper-meadow-lantern-58';
const FORM = 'application/x-www-form-urlencoded';

/** `gatehouse operators create` (owner of every realm): the setup link it prints alone on its last line. */
export function operatorSetupLink(root: string, env: NodeJS.ProcessEnv): string {
  const cli = path.join(root, 'src', 'cli', 'gatehouse.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'operators', 'create', '--email', OPERATOR_EMAIL, '--role', 'owner', '--realm', '*'], { cwd: root, env, encoding: 'utf8' });
  const link = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !/^https?:\/\//.test(link)) throw new Error(`gatehouse operators create failed (${r.status}): ${r.stderr.trim().slice(0, 500)}`);
  return link;
}

/** One host's cookies: name → value, as Set-Cookie leaves them (a cookie expired or emptied is gone). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        return (k!.toLowerCase() === 'max-age' && Number(v) <= 0) || (k!.toLowerCase() === 'expires' && Date.parse(v) <= Date.now());
      });
      if (gone || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(only?: (name: string) => boolean): string {
    return [...this.cookies].filter(([name]) => !only || only(name)).map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const unescapeAmp = (s: string) => s.replace(/&amp;/g, '&');

function csrfOf(html: string, what: string): string {
  const input = /<input[^>]*\bname="_csrf"[^>]*>/.exec(html)?.[0];
  const match = input && /\bvalue="([^"]+)"/.exec(input);
  if (!match) throw new Error(`${what}: no CSRF token in the page`);
  return match[1]!;
}

/**
 * Signs the operator of `setupLink` in to the console at `base` (its origin, e.g. http://localhost:<port>):
 * the `Cookie` header that carries the console's session (gh.console, or __Host-gh.console behind https).
 */
export async function consoleCookie(base: string, setupLink: string): Promise<string> {
  const jar = new CookieJar();
  const step = async (method: 'GET' | 'POST', url: string, expect: number, form?: Record<string, string>) => {
    const target = new URL(url, base);
    if (target.origin !== new URL(base).origin) throw new Error(`${method} ${url}: left the console's origin ${base}`);
    const res = await fetch(target, {
      method,
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(form ? { 'content-type': FORM } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    jar.take(res);
    const text = await res.text();
    const what = `console sign-in: ${method} ${target.pathname}`;
    if (res.status !== expect) throw new Error(`${what}: expected ${expect}, got ${res.status}\n${text.slice(0, 500)}`);
    return { text, location: res.headers.get('location') ?? '', what };
  };
  /** GETs `page`, then POSTs `form` to `action` (the page itself by default) with the page's CSRF token. */
  const submit = async (page: string, expect: number, form: Record<string, string> = {}, action = page) => {
    const shown = await step('GET', page, 200);
    return step('POST', action, expect, { _csrf: csrfOf(shown.text, shown.what), ...form });
  };

  // The setup link: its token moves into the session, then a password is chosen.
  const opened = await step('GET', setupLink, 303);
  await submit(opened.location, 200, { password: OPERATOR_PASSWORD });

  // The console's sign-in: a state kept in gh.console, then the console realm's hosted login.
  const start = await step('GET', '/admin/login', 303);
  const password = await submit(start.location, 303, { identifier: OPERATOR_EMAIL, password: OPERATOR_PASSWORD });
  if (password.location !== '/login/mfa') throw new Error(`console sign-in: the password went to ${password.location || '(nowhere)'}, not /login/mfa`);

  // The authenticator the console realm requires: enrol, read the secret off the page, confirm with a code.
  await submit('/login/mfa', 303, {}, '/login/mfa/enrol');
  const sheet = await step('GET', '/login/mfa', 200);
  const secret = /<p class="mfa-secret"><code translate="no">([A-Z2-7 ]+)<\/code><\/p>/.exec(sheet.text)?.[1]?.replace(/ /g, '');
  if (!secret) throw new Error('console sign-in: no authenticator secret on /login/mfa after enrolling');
  await step('POST', '/login/mfa/confirm', 303, { _csrf: csrfOf(sheet.text, sheet.what), code: generateSync({ secret }) });

  // The recovery codes page goes on to the form_post hand-off, whose token and state go to /admin/callback.
  const handoff = await submit('/login/mfa', 200, {}, '/login/mfa/continue');
  const token = /name="token" value="([^"]+)"/.exec(handoff.text)?.[1];
  const state = /name="state" value="([^"]*)"/.exec(handoff.text)?.[1];
  if (!token || state === undefined) throw new Error('console sign-in: /login/mfa/continue did not render a form_post hand-off');
  const back = await step('POST', '/admin/callback', 303, { token, state: unescapeAmp(state) });
  if (back.location !== '/admin') throw new Error(`console sign-in: the callback went to ${back.location || '(nowhere)'}, not /admin`);
  const cookie = jar.header((name) => name.endsWith('gh.console'));
  if (!cookie) throw new Error('console sign-in: no gh.console cookie after the callback');
  return cookie;
}
