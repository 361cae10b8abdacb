/**
 * Gatehouse as its own process, the way `npm run serve` runs it (`node --import tsx src/main.ts`), and a
 * browser-like HTTP client with one cookie jar for every origin on 127.0.0.1 (browsers do not tell
 * cookies apart by port, so two instances on two ports share them, as behind one load balancer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface GatehouseProcess {
  url: string;
  child: ChildProcess;
  /** What the process wrote to stdout so far, parsed (pino's JSON lines; other lines are skipped). */
  log(): LogLine[];
  stderr(): string;
  /** Resolves with the first log line whose msg is `msg` (already written or still to come). */
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process (SIGKILL) unless it has exited, and waits for it: for afterAll, whatever happened. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  port: number;
  configPath: string;
  dataDir: string;
  /** More environment (REDIS_URL, SMTP_URL, SESSION_SECRET, LOG_LEVEL…). */
  env?: Record<string, string>;
  /** How long to wait for /readyz to answer 200. */
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a Gatehouse process and waits until its /readyz answers 200; a process that exits first fails with its stderr. */
export async function spawnGatehouse(options: SpawnOptions): Promise<GatehouseProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  // Only what the process needs: a REDIS_URL or SMTP_URL of the developer's shell must not leak in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    NODE_ENV: 'test',
    PORT: String(options.port),
    HOST: '127.0.0.1',
    GATEHOUSE_CONFIG: options.configPath,
    DATA_DIR: options.dataDir,
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'info',
    LOG_REQUESTS: 'false',
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of listeners) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let hasExited = false;
  // 'close', not 'exit': 'exit' may come before the last of stdout has been read, and a log line written just
  // before exiting ("shutting down") would then be looked for and not found.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      hasExited = true;
      for (const wake of listeners) wake();
      resolve({ code, signal });
    }),
  );

  const log = (): LogLine[] =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      });

  const proc: GatehouseProcess = {
    url,
    child,
    log,
    stderr: () => stderr,
    exited,
    waitForLog(msg, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = log().find((l) => l.msg === msg);
          if (!found && !hasExited) return;
          listeners.delete(check);
          clearTimeout(timer);
          if (found) resolve(found);
          else reject(new Error(`the process exited without logging "${msg}"; stderr: ${stderr}`));
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no log line "${msg}" within ${timeoutMs} ms; stdout: ${stdout.slice(-2000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (hasExited || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 45_000);
  for (;;) {
    if (hasExited) throw new Error(`Gatehouse exited before it was ready: ${stderr || stdout}`);
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`Gatehouse at ${url} was not ready within ${options.readyTimeoutMs ?? 45_000} ms (last /readyz: ${status}); stderr: ${stderr}`);
    }
    await sleep(100);
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** The CSRF token in a page's form. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF token in the page: ${html.slice(0, 300)}`);
  return match[1]!;
}

/** A browser: one cookie jar, whichever instance (`base`) it talks to; redirects are answers, not followed. */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  async request(base: string, url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(new URL(url, base), { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()) || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  get(base: string, url: string, headers?: Record<string, string>): Promise<Answer> {
    return this.request(base, url, { headers });
  }

  post(base: string, url: string, form: Record<string, string>): Promise<Answer> {
    return this.request(base, url, { form });
  }

  /** GETs `url` from `base`, then POSTs `form` with the page's CSRF token (to `postBase`, by default the same instance). */
  async submit(base: string, url: string, form: Record<string, string>, postBase = base): Promise<Answer> {
    const page = await this.get(base, url);
    return this.post(postBase, url, { _csrf: csrfOf(page.text), ...form });
  }
}
