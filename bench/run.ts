/**
 * `npm run bench` — measures, never asserts (DESIGN.md §7). One run, on this
 * machine, reports:
 *
 *   (a) POST /login (valid credentials) req/s against raw argon2.verify/s with
 *       Gatehouse's own ARGON2_OPTIONS at the same concurrency → ratio (≥ 0.90);
 *   (b) GET /login req/s and p99 against a bare Express hello-world → ratio (≥ 0.50);
 *   (c) GET /login?redirect_uri=…&state=… with a live session (JWT issued, form_post page);
 *   (d) GET /.well-known/jwks.json;
 *   (e) POST /api/v1/realms/{id}/users/authenticate-key (an API user's key, the
 *       realm's hash policy) req/s against the same bare handler → ratio (≥ 0.50);
 *   (f) the Gatehouse process's RSS after the run and its peak during it (≤ 150 MB);
 *   (g) the hand-off (c) in a second realm, `bench-orgs` (its own host, localhost:<port>;
 *       `tokens.fields: ['custom','orgs']`), for three users with 0, 5 and 50 memberships
 *       (55 orgs and the memberships made through the management API; each JWT checked to
 *       carry 0/5/50 `orgs` entries): handoff-m0, handoff-m5, handoff-m50, interleaved with
 *       `redirect` in one group → m5/m0 (≥ 0.95), m50/m0 (≥ 0.80) as docs/design/orgs.md §9.2
 *       asks, m0/redirect (info), and each JWT's size in bytes (§9.1).
 *
 * Gatehouse (bench/server.ts) and the bare app (bench/bare.ts) each run in
 * their own child process, started the same way — compiled to JavaScript as
 * production runs, unless BENCH_RUNTIME=tsx — so autocannon in this process
 * shares a thread with neither. The table goes to stdout and every number to
 * bench/results/latest.json.
 *
 * The two halves of a ratio are measured interleaved, in slices ordered
 * A B B A A B …, so a machine that speeds up or slows down during the run
 * (shared hosts do) weighs on both alike. A group during which other
 * processes on the machine were busy is measured again (BENCH_RETRIES).
 *
 * Environment: BENCH_DURATION (seconds measured per scenario, default 10),
 * BENCH_WARMUP (seconds of warm-up per scenario, default 5, at most the duration),
 * BENCH_CONNECTIONS (page scenarios, default 16), BENCH_LOGIN_CONNECTIONS (default 8),
 * BENCH_RETRIES (default 1), BENCH_MAX_OTHER_CPU (% of a core, default 25),
 * BENCH_ONLY (comma list of scenario ids to run: bare,page,apikey,redirect,jwks,argon2,login, handoff (the three
 * handoff-m* scenarios and redirect, their group; handoff-m0 etc. name one each), and scale, which only runs
 * when named: its first run seeds a million users, ≈ 30 s, and its exports alone take longer than the rest of the bench;
 * it also measures the management API's user list, count and export at 1k and 1M users, and the console's users page
 * (/admin/realms/bench/users, an operator made with `gatehouse operators create` and signed in over HTTP)),
 * BENCH_SCALE_EXPORT_TIMEOUT (seconds the scale export may run before it is stopped and measured so far, default 60),
 * BENCH_CPU_PROF=1 (start Gatehouse with --cpu-prof into bench/results/profiles/),
 * BENCH_NODE_ARGS (extra node flags for the Gatehouse process, after PRODUCTION_NODE_FLAGS
 * from src/config/runtime.ts, which both children get), BENCH_RUNTIME
 * (compiled, the default and what production runs, or tsx). Both children run
 * with PRODUCTION_ENV (MALLOC_ARENA_MAX=2, as the Dockerfile sets); MALLOC_*
 * variables given to the bench override it and reach every process (this one
 * too, where raw argon2 runs).
 */
// Raw argon2 runs in this process: on a thread pool sized as Gatehouse sizes its own.
import { PRODUCTION_ENV, PRODUCTION_NODE_FLAGS } from '../src/config/runtime.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import argon2 from 'argon2';
import autocannon from 'autocannon';
import { ARGON2_OPTIONS } from '../src/identity/password.ts';
import { consoleCookie, operatorSetupLink } from './console-login.ts';
import { SCALE_CACHE_DIR, SCALE_PASSWORD, SCALE_REALM, scaleDataDir, scaleLogin } from './scale.ts';
import type { FromChild, ToChild } from './child-ipc.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const RESULTS_DIR = path.join(BENCH_DIR, 'results');

// ---------------------------------------------------------------- settings

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`${name} must be a number ≥ ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return n;
}

const DURATION = envNumber('BENCH_DURATION', 10, 1);
const WARMUP = Math.min(envNumber('BENCH_WARMUP', 5, 0), DURATION);
const PAGE_CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 16, 1));
const LOGIN_CONNECTIONS = Math.round(envNumber('BENCH_LOGIN_CONNECTIONS', 8, 1));
const RETRIES = Math.round(envNumber('BENCH_RETRIES', 1, 0));
const MAX_OTHER_CPU = envNumber('BENCH_MAX_OTHER_CPU', 25, 0);
/**
 * How the children run: "compiled" (default) as production does, from JavaScript
 * compiled into a temporary folder; "tsx" straight from the sources through tsx.
 */
const RUNTIME: 'compiled' | 'tsx' = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'compiled';
if (process.env.BENCH_RUNTIME && !['tsx', 'compiled'].includes(process.env.BENCH_RUNTIME)) {
  process.stderr.write(`BENCH_RUNTIME must be "compiled" or "tsx"\n`);
  process.exit(2);
}
/** Extra node flags for the Gatehouse process only, e.g. "--max-semi-space-size=4". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1' || process.env.BENCH_CPU_PROF === 'true';
const SCENARIO_IDS = ['bare', 'page', 'apikey', 'redirect', 'handoff-m0', 'handoff-m5', 'handoff-m50', 'jwks', 'argon2', 'login'] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];
/** The membership counts of the hand-off users in the `bench-orgs` realm (docs/design/orgs.md §9.2). */
const HANDOFF_MEMBERSHIPS = [0, 5, 50] as const;
type HandoffId = `handoff-m${(typeof HANDOFF_MEMBERSHIPS)[number]}`;
const HANDOFF_IDS = HANDOFF_MEMBERSHIPS.map((n) => `handoff-m${n}` as HandoffId);
/** BENCH_ONLY names standing for several scenarios: `handoff` is its group, `redirect` beside the three users. */
const ALIASES: Record<string, readonly ScenarioId[]> = { handoff: ['redirect', ...HANDOFF_IDS] };
/** Run only when BENCH_ONLY names them. */
const OPT_IN_IDS = ['scale'] as const;
type BenchId = ScenarioId | (typeof OPT_IN_IDS)[number];
const ONLY = new Set<BenchId>(
  process.env.BENCH_ONLY
    ? process.env.BENCH_ONLY.split(',')
        .map((s) => s.trim())
        .flatMap((s): readonly string[] => ALIASES[s] ?? [s])
        .filter((s): s is BenchId => ([...SCENARIO_IDS, ...OPT_IN_IDS] as readonly string[]).includes(s))
    : SCENARIO_IDS,
);
const SCALE_EXPORT_TIMEOUT = envNumber('BENCH_SCALE_EXPORT_TIMEOUT', 60, 1);
if (ONLY.size === 0) {
  process.stderr.write(`BENCH_ONLY names none of: ${[...SCENARIO_IDS, ...Object.keys(ALIASES), ...OPT_IN_IDS].join(', ')}\n`);
  process.exit(2);
}

const EMAIL = 'bench-user@example.com';
const PASSWORD = 'violet-harbor-lantern-42';
const CALLBACK = 'http://127.0.0.1:9/callback'; // never contacted: form_post only renders it
/** The signed-in GET /login of the hand-off scenarios (redirect, handoff-m*). */
const HANDOFF_PATH = `/login?${new URLSearchParams({ redirect_uri: CALLBACK, state: 'bench-state' })}`;
const MB = 1024 * 1024;
const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat

// ------------------------------------------------------- process plumbing

const children = new Set<ChildProcess>();
let tmpDir: string | undefined;

function cleanup(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping\n`);
    cleanup();
    process.exit(130);
  });
}

interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  url: string;
  /** process.memoryUsage() of the child, over IPC; with `gc`, after a full collection. */
  mem(gc?: boolean): Promise<Extract<FromChild, { type: 'mem' }>>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Compiles bench/server.ts and bench/bare.ts, with the sources they import,
 * into `outDir` the way `npm run build` compiles src/ for production, and
 * lays the folders Gatehouse reads at run time (views, locales, public) and
 * node_modules beside them.
 */
function compile(outDir: string): void {
  const tsconfig = path.join(path.dirname(outDir), 'tsconfig.bench.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: { noEmit: false, outDir, rootDir: ROOT, typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
      include: [path.join(ROOT, 'src')],
      files: [path.join(BENCH_DIR, 'server.ts'), path.join(BENCH_DIR, 'bare.ts')],
    }),
  );
  const require = createRequire(import.meta.url);
  const tsPackage = require.resolve('typescript/package.json');
  const tscBin = (JSON.parse(readFileSync(tsPackage, 'utf8')) as { bin: { tsc: string } }).bin.tsc;
  const r = spawnSync(process.execPath, [path.resolve(path.dirname(tsPackage), tscBin), '-p', tsconfig], { encoding: 'utf8' });
  if (!existsSync(path.join(outDir, 'bench', 'server.js'))) throw new Error(`compiling for the bench failed:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0) log(`bench: tsc reported errors (JavaScript was emitted anyway):\n${r.stdout}`);
  // What tsc does not emit: the non-TypeScript files under src/ (the SQL migrations).
  cpSync(path.join(ROOT, 'src'), path.join(outDir, 'src'), {
    recursive: true,
    filter: (file) => statSync(file).isDirectory() || !file.endsWith('.ts'),
  });
  for (const dir of ['views', 'locales', 'public', 'node_modules']) symlinkSync(path.join(ROOT, dir), path.join(outDir, dir), 'dir');
}

/** Starts `node [nodeArgs] <script>` (through tsx for a .ts script) and waits for its "ready" message. */
function spawnChild(name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Child> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  // --expose-gc only lets the bench ask for a full collection before the final heap reading.
  const proc = spawn(process.execPath, [...nodeArgs, '--expose-gc', ...loader, script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(proc);
  let nextId = 0;
  const pending = new Map<number, (m: Extract<FromChild, { type: 'mem' }>) => void>();
  proc.on('message', (msg: FromChild) => {
    if (msg.type === 'mem') pending.get(msg.id)?.(msg);
  });
  let stopping = false;
  let ready = false;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    children.delete(proc);
    if (ready && !stopping) process.stderr.write(`bench: ${name} exited unexpectedly (code ${code}, signal ${signal}); its numbers stop here\n`);
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    });
    proc.on('message', (msg: FromChild) => {
      if (msg.type !== 'ready') return;
      ready = true;
      clearTimeout(timer);
      resolve({
        name,
        proc,
        pid: msg.pid,
        url: msg.url,
        mem(gc = false) {
          const id = nextId++;
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error(`${name} did not answer a memory probe`)), 5000);
            pending.set(id, (m) => {
              clearTimeout(t);
              pending.delete(id);
              res(m);
            });
            proc.send({ type: 'mem', id, gc } satisfies ToChild);
          });
        },
        async stop() {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          stopping = true;
          proc.send({ type: 'stop' } satisfies ToChild);
          const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/** utime + stime of a process, all threads, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces; fields after its closing paren start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** VmRSS and VmHWM (peak RSS over the process's life) in bytes. */
function procMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * Samples one process's RSS every 100 ms from creation to close(): the
 * overall peak (warm-ups included), and the peak of each window start()…stop().
 */
class RssSampler {
  private readonly timer: NodeJS.Timeout;
  private window: number | null = null;
  overallMax = 0;
  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }
  start(): void {
    this.window = 0;
    this.sample();
  }
  stop(): number {
    this.sample();
    const max = this.window ?? 0;
    this.window = null;
    return max;
  }
  close(): void {
    clearInterval(this.timer);
    this.sample();
  }
  sample(): void {
    try {
      const { rss } = procMemory(this.pid);
      if (this.window !== null) this.window = Math.max(this.window, rss);
      this.overallMax = Math.max(this.overallMax, rss);
    } catch {
      // the process is gone; its exit is reported elsewhere
    }
  }
}

// ------------------------------------------------------------- measuring

/** Busy CPU of the whole machine (all cores, every process and the kernel), in seconds. */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}

/** The child processes whose CPU is ours (this process is counted on its own). */
let childPids: number[] = [];

/**
 * CPU over one measured slice: the measured process, this process
 * (autocannon, or argon2 for the raw run), and everything else on the
 * machine. "Other" is what the bench cannot control: another process busy
 * at the same time makes that slice's numbers unreliable.
 */
function cpuWindow(measuredPid: number | null) {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  const own0 = process.cpuUsage();
  const procs0 = childPids.map(cpuSeconds);
  return () => {
    const wallS = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const ownS = (own.user + own.system) / 1e6;
    const procsS = childPids.map((pid, i) => cpuSeconds(pid) - procs0[i]!);
    const oursS = ownS + procsS.reduce((a, b) => a + b, 0);
    return {
      wallS,
      measuredS: measuredPid === null ? ownS : procsS[childPids.indexOf(measuredPid)]!,
      ownS,
      otherS: Math.max(0, machineBusySeconds() - busy0 - oursS),
    };
  };
}

interface Load {
  url: string;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

interface Scenario {
  id: ScenarioId;
  label: string;
  connections: number;
  /** An HTTP load on `server`, expecting `expectStatus`; without it, raw argon2.verify in this process. */
  http?: { load: Load; expectStatus: number; server: Child };
  /** Sample the Gatehouse process's RSS while this runs. */
  sampled: boolean;
}

/** Sums over a scenario's slices. */
class Tally {
  requests = 0;
  durationS = 0;
  wallS = 0;
  measuredCpuS = 0;
  ownCpuS = 0;
  otherCpuS = 0;
  errors = 0;
  timeouts = 0;
  peakRss = 0;
  slices = 0;
  latencies: number[] = [];
  statusCodes: Record<string, number> = {};
}

interface Measurement {
  id: ScenarioId;
  label: string;
  connections: number;
  /** Measured seconds, the sum of the slices. */
  durationS: number;
  slices: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { avg: number; p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Responses other than the expected status. */
  unexpected: number;
  /** CPU used by the measured server (raw argon2: this process), % of one core, all threads. */
  serverCpuPct: number;
  /** Server CPU per request (all threads), ms. */
  cpuMsPerRequest: number;
  /** CPU used by this process (autocannon), % of one core. */
  clientCpuPct: number;
  /** CPU used by every other process on the machine meanwhile, % of one core. */
  otherCpuPct: number;
  /** Peak RSS of the Gatehouse process during the measured slices, MB (Gatehouse scenarios only). */
  peakRssMB?: number;
  /** Which attempt this is (a group disturbed by other processes is measured again). */
  attempt: number;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function cannon(load: Load, seconds: number, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: load.url, connections: load.connections, duration: seconds, method: load.method ?? 'GET', headers: load.headers, body: load.body, timeout: 10 },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  });
}

let argon2Hash: string | undefined;

/**
 * argon2.verify in this process, `concurrency` at a time, for `seconds`; the
 * latency of each that finished in time. Like autocannon, it counts only what
 * completes within the window: the ones still running at the deadline are
 * awaited but not counted, so both sides of the login ratio are measured alike.
 */
async function argon2Loop(concurrency: number, seconds: number): Promise<number[]> {
  argon2Hash ??= await argon2.hash(PASSWORD, ARGON2_OPTIONS);
  const hash = argon2Hash;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      if (!(await argon2.verify(hash, PASSWORD))) throw new Error('argon2.verify failed for the right password');
      const end = performance.now();
      if (end <= deadline) latencies.push(end - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

async function warmUp(s: Scenario, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  log(`  ${s.label}: warm-up ${seconds} s`);
  if (s.http) await cannon(s.http.load, seconds);
  else await argon2Loop(s.connections, seconds);
}

/** One measured slice of `s`, added to `t`. */
async function slice(s: Scenario, seconds: number, t: Tally, sampler: RssSampler): Promise<void> {
  if (s.sampled) sampler.start();
  const done = cpuWindow(s.http ? s.http.server.pid : null);
  if (s.http) {
    const r = await cannon(s.http.load, seconds, (_status, ms) => t.latencies.push(ms));
    t.requests += r.requests.total;
    t.durationS += r.duration;
    t.errors += r.errors;
    t.timeouts += r.timeouts;
    for (const [code, { count }] of Object.entries(r.statusCodeStats)) t.statusCodes[code] = (t.statusCodes[code] ?? 0) + count;
  } else {
    const latencies = await argon2Loop(s.connections, seconds);
    t.durationS += seconds;
    t.requests += latencies.length;
    for (const ms of latencies) t.latencies.push(ms);
  }
  const cpu = done();
  t.wallS += cpu.wallS;
  t.measuredCpuS += cpu.measuredS;
  t.ownCpuS += cpu.ownS;
  t.otherCpuS += cpu.otherS;
  t.slices++;
  if (s.sampled) t.peakRss = Math.max(t.peakRss, sampler.stop());
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summarize(s: Scenario, t: Tally, attempt: number): Measurement {
  const sorted = Float64Array.from(t.latencies).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  const expected = s.http ? (t.statusCodes[String(s.http.expectStatus)] ?? 0) : t.requests;
  return {
    id: s.id,
    label: s.label,
    connections: s.connections,
    durationS: t.durationS,
    slices: t.slices,
    requests: t.requests,
    reqPerSec: t.requests / t.durationS,
    latencyMs: {
      avg: sorted.length ? sum / sorted.length : NaN,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    },
    statusCodes: t.statusCodes,
    errors: t.errors,
    timeouts: t.timeouts,
    unexpected: t.requests - expected,
    serverCpuPct: (t.measuredCpuS / t.wallS) * 100,
    cpuMsPerRequest: t.requests ? (t.measuredCpuS * 1000) / t.requests : NaN,
    clientCpuPct: (t.ownCpuS / t.wallS) * 100,
    otherCpuPct: (t.otherCpuS / t.wallS) * 100,
    ...(s.sampled ? { peakRssMB: t.peakRss / MB } : {}),
    attempt,
  };
}

/**
 * Measures a group's scenarios for DURATION seconds each, in `rounds`
 * interleaved slices (A B, B A, A B, …), after a warm-up on the first attempt.
 */
async function measureGroup(group: Scenario[], rounds: number, attempt: number, sampler: RssSampler): Promise<Measurement[]> {
  if (attempt === 1) for (const s of group) await warmUp(s, s.http ? WARMUP : Math.min(WARMUP, 3));
  const tallies = group.map(() => new Tally());
  const sliceS = DURATION / rounds;
  log(`  ${group.map((s) => s.label).join(' | ')}: measuring ${DURATION} s each, ${rounds} slice${rounds > 1 ? 's' : ''} of ${sliceS} s`);
  for (let round = 0; round < rounds; round++) {
    const order = group.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) await slice(group[i]!, sliceS, tallies[i]!, sampler);
  }
  return group.map((s, i) => summarize(s, tallies[i]!, attempt));
}

// ------------------------------------------------------------- HTTP setup

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function csrfOf(html: string): string {
  const input = /<input[^>]*\bname="_csrf"[^>]*>/.exec(html)?.[0];
  const match = input && /\bvalue="([^"]+)"/.exec(input);
  if (!match) throw new Error('no CSRF token in the page');
  return match[1]!;
}

async function expectStatus(res: Response, status: number, what: string): Promise<string> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}\n${text.slice(0, 500)}`);
  return text;
}

/** The anonymous double-submit pair of a form page: the `gh.csrf` cookie and the form's `_csrf`. */
async function csrfPair(url: string): Promise<{ cookie: string; token: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await expectStatus(res, 200, `GET ${url}`);
  const value = cookiesOf(res)['gh.csrf'];
  if (!value) throw new Error(`GET ${url} set no gh.csrf cookie`);
  return { cookie: `gh.csrf=${value}`, token: csrfOf(html) };
}

const FORM = 'application/x-www-form-urlencoded';

interface Fixtures {
  login: { headers: Record<string, string>; body: string };
  sessionCookie: string;
  redirectPath: string;
  /** Bytes of the JWT the `bench` realm's hand-off carries. */
  redirectJwtBytes: number;
  /** POST authenticate-key with an API user's key: headers and body. */
  apiKey: { headers: Record<string, string>; body: string };
}

/**
 * A management API key for every realm, made as an operator makes one:
 * `gatehouse api-keys create` on the data folder the server is about to open.
 */
function managementKey(env: NodeJS.ProcessEnv): string {
  const cli = path.join(ROOT, 'src', 'cli', 'gatehouse.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'api-keys', 'create', '--realm', '*', '--access', 'write', '--name', 'bench'], { cwd: ROOT, env, encoding: 'utf8' });
  const key = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !key.startsWith('ghmk_')) throw new Error(`gatehouse api-keys create failed (${r.status}): ${r.stderr.trim().slice(0, 500)}`);
  return key;
}

/** An API user of `realm`, made through the management API: the headers and body that authenticate its key. */
async function apiUserKey(base: string, realm: string, key: string): Promise<Fixtures['apiKey']> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const made = await fetch(`${base}/api/v1/realms/${realm}/users`, { method: 'POST', headers, body: JSON.stringify({ userType: 'api', name: 'Bench robot' }) });
  const { apiKey } = JSON.parse(await expectStatus(made, 201, 'POST /api/v1/realms/…/users (an API user)')) as { apiKey: string };
  const body = JSON.stringify({ apiKey });
  const check = await fetch(`${base}/api/v1/realms/${realm}/users/authenticate-key`, { method: 'POST', headers, body });
  await expectStatus(check, 200, 'POST /api/v1/realms/…/users/authenticate-key');
  return { headers, body };
}

/** Signs the bench user up, takes its session cookie, and checks each scenario's request once by hand. */
async function prepare(base: string, key: string): Promise<Fixtures> {
  const signupCsrf = await csrfPair(`${base}/signup`);
  const signup = await fetch(`${base}/signup`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': FORM, cookie: signupCsrf.cookie },
    body: new URLSearchParams({ _csrf: signupCsrf.token, email: EMAIL, password: PASSWORD }).toString(),
  });
  await expectStatus(signup, 303, 'POST /signup');
  const sid = cookiesOf(signup)['gh.sid'];
  if (!sid) throw new Error('POST /signup set no gh.sid cookie');
  const sessionCookie = `gh.sid=${sid}`;

  // One CSRF pair for every login: no session cookie is ever sent back, so the token stays valid.
  const loginCsrf = await csrfPair(`${base}/login`);
  const login = {
    headers: { 'content-type': FORM, cookie: loginCsrf.cookie },
    body: new URLSearchParams({ _csrf: loginCsrf.token, identifier: EMAIL, password: PASSWORD }).toString(),
  };
  const check = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', ...login });
  await expectStatus(check, 303, 'POST /login');
  if (check.headers.get('location') !== '/account') throw new Error(`POST /login went to ${check.headers.get('location')}, not /account`);

  const redirectPath = HANDOFF_PATH;
  const handoff = await fetch(`${base}${redirectPath}`, { redirect: 'manual', headers: { cookie: sessionCookie } });
  const html = await expectStatus(handoff, 200, 'GET /login?redirect_uri (signed in)');
  const redirectJwt = jwtOf(html, 'the signed-in GET /login');

  const jwks = await fetch(`${base}/.well-known/jwks.json`);
  const keys = JSON.parse(await expectStatus(jwks, 200, 'GET /.well-known/jwks.json')) as { keys?: unknown[] };
  if (!keys.keys?.length) throw new Error('the JWKS has no keys');

  return { login, sessionCookie, redirectPath, redirectJwtBytes: Buffer.byteLength(redirectJwt), apiKey: key ? await apiUserKey(base, 'bench', key) : { headers: {}, body: '' } };
}

/** The JWT of a form_post hand-off page. */
function jwtOf(html: string, what: string): string {
  const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(html)?.[0];
  if (!/<form[^>]*method="post"/i.test(html) || !jwt) throw new Error(`${what} did not render a form_post hand-off carrying a JWT`);
  return jwt;
}

/** The realm of the hand-off scenarios: orgs in the JWT, on a host of its own (docs/design/orgs.md §9.2). */
const ORGS_REALM = 'bench-orgs';
/** Two permissions per membership, the size §9.1 reckons with. */
const ORG_PERMISSIONS = ['billing:read', 'reports:*'];

interface HandoffUser {
  memberships: number;
  /** The signed-in user's `gh.sid` cookie on the orgs realm's host. */
  sessionCookie: string;
  jwtBytes: number;
  /** Entries of the JWT's `orgs` claim (absent: 0). */
  orgsEntries: number;
}

interface HandoffFixtures {
  realm: string;
  /** The Host header every hand-off request sends (the realm's publicUrl host). */
  host: string;
  users: HandoffUser[];
  problems: string[];
}

/**
 * In the `bench-orgs` realm, through the management API: 55 orgs, three users with 0, 5 and 50 memberships;
 * each signed in over HTTP (POST /login on the realm's host) and its hand-off checked once: a JWT whose `orgs`
 * has as many entries as the user has memberships (a problem otherwise).
 */
async function prepareHandoff(orgsUrl: string, key: string): Promise<HandoffFixtures> {
  const api = `${orgsUrl}/api/v1/realms/${ORGS_REALM}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = async (what: string, body: unknown) => {
    const res = await fetch(`${api}/${what}`, { method: 'POST', headers, body: JSON.stringify(body) });
    return JSON.parse(await expectStatus(res, 201, `POST …/${ORGS_REALM}/${what}`)) as Record<string, unknown>;
  };
  const orgIds: string[] = [];
  for (let i = 0; i < HANDOFF_MEMBERSHIPS.reduce((a: number, b) => a + b, 0); i++) orgIds.push((await post('orgs', { name: `Org ${String(i + 1).padStart(2, '0')}` })).id as string);

  const problems: string[] = [];
  const users: HandoffUser[] = [];
  let next = 0;
  for (const n of HANDOFF_MEMBERSHIPS) {
    const email = `bench-m${n}@example.com`;
    const made = (await post('users', { email, password: PASSWORD, emailVerification: 'verified' })) as { user: { id: string } };
    for (const orgId of orgIds.slice(next, next + n)) await post('memberships', { userId: made.user.id, orgId, permissions: ORG_PERMISSIONS });
    next += n;

    const csrf = await csrfPair(`${orgsUrl}/login`);
    const signin = await fetch(`${orgsUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': FORM, cookie: csrf.cookie },
      body: new URLSearchParams({ _csrf: csrf.token, identifier: email, password: PASSWORD }).toString(),
    });
    await expectStatus(signin, 303, `POST /login (${ORGS_REALM}, ${n} memberships)`);
    const sid = cookiesOf(signin)['gh.sid'];
    if (!sid) throw new Error(`POST /login (${ORGS_REALM}) set no gh.sid cookie`);
    const sessionCookie = `gh.sid=${sid}`;

    const res = await fetch(`${orgsUrl}${HANDOFF_PATH}`, { redirect: 'manual', headers: { cookie: sessionCookie } });
    const jwt = jwtOf(await expectStatus(res, 200, `GET /login?redirect_uri (${ORGS_REALM}, signed in)`), `the hand-off of the user with ${n} memberships`);
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { rid?: string; orgs?: unknown[] };
    const orgsEntries = Array.isArray(claims.orgs) ? claims.orgs.length : 0;
    if (orgsEntries !== n) problems.push(`the JWT of the user with ${n} memberships has ${orgsEntries} orgs entries`);
    if (claims.rid !== ORGS_REALM) problems.push(`the JWT of the user with ${n} memberships is realm "${claims.rid}"'s, not ${ORGS_REALM}'s`);
    users.push({ memberships: n, sessionCookie, jwtBytes: Buffer.byteLength(jwt), orgsEntries });
  }
  return { realm: ORGS_REALM, host: new URL(orgsUrl).host, users, problems };
}

// ---------------------------------------------------------------- report

const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

interface Ratio {
  name: string;
  value: number;
  target: string;
  met: boolean;
  detail: string;
}

// ----------------------------------------------------------------- scale

interface ScaleLogin {
  users: number;
  durationS: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { p50: number; p99: number };
  statusCodes: Record<string, number>;
  errors: number;
  unexpected: number;
  /** Seconds spent seeding the cache this run (0 when it was reused), copying included. */
  seedS: number;
  seededNow: boolean;
}

interface ScaleResult {
  connections: number;
  logins: ScaleLogin[];
  ratio: { reqPerSec: number; p50: number; p99: number };
  export: {
    users: number;
    /** Users the export wrote (lines of its JSONL file). */
    exported: number;
    seconds: number;
    usersPerSec: number;
    /** Stopped at BENCH_SCALE_EXPORT_TIMEOUT before the last user. */
    timedOut: boolean;
    exitCode: number | null;
    peakRssMB: number;
    rssSource: 'resourceUsage().maxRSS' | 'VmHWM (last sample)';
    command: string;
  };
  api: ScaleApi;
  /** The console's users page at each size; null when the operator could not be signed in (see problems). */
  console: ScaleConsole | null;
  problems: string[];
}

/** One management API request mix against one store size. */
interface ApiLatency {
  users: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { p50: number; p99: number };
  unexpected: number;
  errors: number;
}

/** The management API at 1k and 1M users: list pages, filtered counts, and the streamed export of the million. */
interface ScaleApi {
  connections: number;
  paths: { list: string[]; count: string[] };
  list: ApiLatency[];
  count: ApiLatency[];
  export: { users: number; exported: number; seconds: number; usersPerSec: number; timedOut: boolean; rssBeforeMB: number; peakRssMB: number; command: string };
}

/** The console's users list page (50 users a page) at 1k and 1M users, signed in as an operator. */
interface ScaleConsole {
  connections: number;
  /** The mix of the largest store (the q prefix and the cursor differ by size). */
  paths: string[];
  users: ApiLatency[];
}

const API_CONNECTIONS = 4;

/** measureApi's q: a prefix that 100 users share at any size (their logins' middle). */
const hundredPrefix = (users: number) => scaleLogin(Math.floor(users / 2)).slice(0, -'00@example.com'.length);

/** One store size's side of an interleaved measurement: its server, the headers every request carries, and the paths taken in turn. */
interface MixTarget {
  users: number;
  url: string;
  headers: Record<string, string>;
  paths: string[];
}

/**
 * GETs over each target's paths (autocannon takes them in turn), API_CONNECTIONS
 * connections, the targets measured interleaved A B B A, DURATION / 2 s a
 * slice, after a short warm-up of each. Anything but a 200 is a problem.
 */
async function measureInterleaved(label: string, targets: MixTarget[], problems: string[]): Promise<ApiLatency[]> {
  const tallies = targets.map(() => ({ latencies: [] as number[], requests: 0, durationS: 0, errors: 0, ok: 0 }));
  const once = (i: number, seconds: number, count: boolean) =>
    new Promise<void>((resolve, reject) => {
      const s = targets[i]!;
      const t = tallies[i]!;
      const instance = autocannon(
        { url: s.url, connections: API_CONNECTIONS, duration: seconds, timeout: 10, headers: s.headers, requests: s.paths.map((p) => ({ method: 'GET', path: p })) } as autocannon.Options,
        (err, r) => {
          if (err) return reject(err);
          if (count) {
            t.requests += r.requests.total;
            t.durationS += r.duration;
            t.errors += r.errors;
            t.ok += r.statusCodeStats['200']?.count ?? 0;
          }
          resolve();
        },
      );
      if (count) instance.on('response', (_c: unknown, _status: number, _bytes: number, ms: number) => t.latencies.push(ms));
    });
  if (WARMUP > 0) for (let i = 0; i < targets.length; i++) await once(i, Math.min(WARMUP, 3), false);
  log(`  ${label}, ${targets.map((s) => s.users).join(' | ')} users: ${DURATION} s each, ${API_CONNECTIONS} connections`);
  for (const round of [0, 1]) {
    const order = targets.map((_, i) => i);
    if (round === 1) order.reverse();
    for (const i of order) await once(i, DURATION / 2, true);
  }
  return targets.map((s, i) => {
    const t = tallies[i]!;
    const sorted = Float64Array.from(t.latencies).sort();
    const unexpected = t.requests - t.ok;
    if (unexpected || t.errors) problems.push(`${label}, ${s.users} users: ${unexpected} unexpected responses, ${t.errors} errors`);
    const l: ApiLatency = { users: s.users, requests: t.requests, reqPerSec: t.requests / t.durationS, latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }, unexpected, errors: t.errors };
    log(`  → ${s.users} users: ${fmt(l.reqPerSec, 1)} req/s, p50 ${fmt(l.latencyMs.p50, 2)} ms, p99 ${fmt(l.latencyMs.p99, 2)} ms`);
    return l;
  });
}

/**
 * GET …/users?limit=100 (six sorts and filters, a page deep in the list among
 * them) and GET …/users/count (filters served by the counters and by an
 * index), each store size measured interleaved A B B A; then GET
 * …/users/export?format=ndjson over the largest, the server's RSS sampled.
 */
async function measureApi(servers: Array<{ users: number; child: Child; key: string }>, problems: string[]): Promise<ScaleApi> {
  const prefix = hundredPrefix;
  const paths = async (s: (typeof servers)[number]) => {
    const auth = { authorization: `Bearer ${s.key}` };
    const mid = await fetch(`${s.child.url}/api/v1/realms/${SCALE_REALM}/users?sort=username&limit=50&q=${prefix(s.users)}`, { headers: auth });
    const { next } = JSON.parse(await expectStatus(mid, 200, `GET users?q= (${s.users} users)`)) as { next: string | null };
    if (!next) throw new Error(`GET users?q=${prefix(s.users)}&limit=50 gave no next page (${s.users} users)`);
    const base = `/api/v1/realms/${SCALE_REALM}/users`;
    return {
      list: [
        `${base}?limit=100`,
        `${base}?limit=100&sort=email&direction=desc`,
        `${base}?limit=100&sort=email&q=${prefix(s.users)}`,
        `${base}?limit=100&sort=username&after=${next}`,
        `${base}?limit=100&state=active&sort=lastLoginAt&direction=desc`,
        `${base}?limit=100&userType=human&sort=name`,
      ],
      count: [`${base}/count?userType=human`, `${base}/count?q=${prefix(s.users)}`, `${base}/count?state=active&emailVerification=none`, `${base}/count?reference=crm-42`],
    };
  };
  const mixes = await Promise.all(servers.map(paths));
  for (const [i, s] of servers.entries()) {
    for (const p of [...mixes[i]!.list, ...mixes[i]!.count]) await expectStatus(await fetch(`${s.child.url}${p}`, { headers: { authorization: `Bearer ${s.key}` } }), 200, `GET ${p} (${s.users} users)`);
  }
  const measure = (kind: 'list' | 'count') =>
    measureInterleaved(
      `GET ${kind === 'list' ? 'users?limit=100' : 'users/count'}`,
      servers.map((s, i) => ({ users: s.users, url: s.child.url, headers: { authorization: `Bearer ${s.key}` }, paths: mixes[i]![kind] })),
      problems,
    );
  const list = await measure('list');
  const count = await measure('count');

  const big = servers[servers.length - 1]!;
  const url = `${big.child.url}/api/v1/realms/${SCALE_REALM}/users/export?format=ndjson&sort=createdAt`;
  log(`bench: scale: GET …/users/export?format=ndjson of ${big.users} users (stopped after ${SCALE_EXPORT_TIMEOUT} s)`);
  const rssBefore = procMemory(big.child.pid).rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, procMemory(big.child.pid).rss);
    } catch {
      // exited; reported by the count below
    }
  }, 100);
  const abort = new AbortController();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, SCALE_EXPORT_TIMEOUT * 1000);
  const t0 = performance.now();
  let exported = 0;
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${big.key}` }, signal: abort.signal });
    if (res.status !== 200) problems.push(`API export answered ${res.status}`);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) exported++;
    }
  } catch (err) {
    if (!timedOut) problems.push(`API export failed: ${(err as Error).message}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  clearTimeout(deadline);
  if (!timedOut && exported !== big.users) problems.push(`API export wrote ${exported} users, not ${big.users}`);
  log(`  → exported ${exported} of ${big.users} in ${fmt(seconds, 1)} s${timedOut ? ' (stopped at the deadline)' : ''}, server RSS ${fmt(rssBefore / MB, 1)} → peak ${fmt(peak / MB, 1)} MB`);
  return {
    connections: API_CONNECTIONS,
    paths: mixes[mixes.length - 1]!,
    list,
    count,
    export: { users: big.users, exported, seconds, usersPerSec: exported / seconds, timedOut, rssBeforeMB: rssBefore / MB, peakRssMB: peak / MB, command: `curl -H "Authorization: Bearer …" '${url.replace(big.child.url, '')}'` },
  };
}

/**
 * GET /admin/realms/bench/users as a signed-in operator (the console's own
 * cookie, on its own host http://localhost:<port>): the default order, a sort
 * reversed, a search, a page deep in the list and a filter with a sort, each
 * store size measured interleaved A B B A as the API's list is.
 */
async function measureConsole(servers: Array<{ users: number; consoleUrl: string; setupLink: string }>, problems: string[]): Promise<ScaleConsole | null> {
  const base = `/admin/realms/${SCALE_REALM}/users`;
  const targets: MixTarget[] = [];
  for (const s of servers) {
    let cookie: string;
    try {
      cookie = await consoleCookie(s.consoleUrl, s.setupLink);
    } catch (err) {
      problems.push(`console (${s.users} users): the operator could not be signed in: ${(err as Error).message.slice(0, 300)}`);
      return null;
    }
    const get = (p: string) => fetch(`${s.consoleUrl}${p}`, { redirect: 'manual', headers: { cookie } });
    // A cursor half-way down the list: the next link of the first page of the 100 users sharing the prefix.
    const first = await get(`${base}?q=${hundredPrefix(s.users)}&sort=username&direction=asc`);
    const next = /<a href="([^"]+)" rel="next"/.exec(await first.text())?.[1];
    const after = next && new URL(next.replace(/&amp;/g, '&'), s.consoleUrl).searchParams.get('after');
    if (first.status !== 200 || !after) {
      problems.push(`console (${s.users} users): the first page of ?q=${hundredPrefix(s.users)}&sort=username answered ${first.status}${after ? '' : ' with no rel="next" cursor'}`);
      return null;
    }
    const paths = [
      base,
      `${base}?sort=email&direction=desc`,
      `${base}?q=${hundredPrefix(s.users)}&sort=email`,
      `${base}?sort=username&direction=asc&after=${encodeURIComponent(after)}`,
      `${base}?state=active&sort=lastLoginAt&direction=desc`,
    ];
    for (const p of paths) {
      const res = await get(p);
      await res.arrayBuffer();
      if (res.status !== 200) problems.push(`console GET ${p} (${s.users} users) answered ${res.status}, not 200`);
    }
    targets.push({ users: s.users, url: s.consoleUrl, headers: { cookie }, paths });
  }
  const users = await measureInterleaved(`GET ${base} (console)`, targets, problems);
  return { connections: API_CONNECTIONS, paths: targets[targets.length - 1]!.paths, users };
}

const SCALE_SIZES = [1000, 1_000_000] as const;

/** Counts the lines of a file without holding it in memory. */
async function countLines(file: string): Promise<number> {
  if (!existsSync(file)) return 0;
  let n = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/**
 * Login latency against stores of 1 000 and 1 000 000 users (each request signs
 * a different seeded user in; the two servers are measured interleaved, A B B A),
 * then the `gatehouse users export` CLI over the million.
 */
async function runScale(serverScript: string, childEnv: NodeJS.ProcessEnv, tmp: string): Promise<ScaleResult> {
  const problems: string[] = [];
  const servers: Array<{ users: number; child: Child; dataDir: string; seedS: number; seededNow: boolean; headers: Record<string, string>; token: string; key: string; consoleUrl: string; setupLink: string }> = [];
  for (const users of SCALE_SIZES) {
    const dir = path.join(tmp, `scale-${users}`);
    log(`bench: scale: data folder of ${users} users (cache ${SCALE_CACHE_DIR})`);
    const { dataDir, seedS, seededNow } = await scaleDataDir(users, dir);
    if (seededNow) log(`  seeded ${users} users in ${fmt(seedS, 1)} s`);
    const port = await freePort();
    const configPath = path.join(dir, 'gatehouse.config.json');
    const consoleUrl = `http://localhost:${port}`;
    writeFileSync(
      configPath,
      JSON.stringify({
        defaultRealm: SCALE_REALM,
        realms: [
          {
            id: SCALE_REALM,
            name: 'Gatehouse Bench',
            publicUrl: `http://127.0.0.1:${port}`,
            // Every login comes from one IP: the per-IP rule would otherwise answer 429 within seconds.
            rateLimits: { loginPerIdentifierAndIp: { points: 1_000_000, durationSeconds: 60 }, loginPerIp: { points: 1_000_000, durationSeconds: 60 } },
            apps: [{ clientId: 'bench-app', name: 'Bench app', redirectUris: [CALLBACK], delivery: 'form_post' }],
          },
        ],
        // The console on a host of its own (loopback http is allowed): its cookies never meet the realm's.
        console: { publicUrl: consoleUrl },
      }),
    );
    const cliEnv = { ...childEnv, GATEHOUSE_CONFIG: configPath, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const key = managementKey(cliEnv);
    const setupLink = operatorSetupLink(ROOT, cliEnv);
    const child = await spawnChild(
      `gatehouse-${users}`,
      serverScript,
      { ...childEnv, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_CONFIG: configPath, DATA_DIR: dataDir, LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', COOKIE_SECURE: 'false' },
      [...PRODUCTION_NODE_FLAGS],
    );
    const csrf = await csrfPair(`${child.url}/login`);
    const headers = { 'content-type': FORM, cookie: csrf.cookie };
    const body = new URLSearchParams({ _csrf: csrf.token, identifier: scaleLogin(users - 1), password: SCALE_PASSWORD }).toString();
    const check = await fetch(`${child.url}/login`, { method: 'POST', redirect: 'manual', headers, body });
    await expectStatus(check, 303, `POST /login (${users} users)`);
    if (check.headers.get('location') !== '/account') throw new Error(`POST /login (${users} users) went to ${check.headers.get('location')}, not /account`);
    servers.push({ users, child, dataDir, seedS, seededNow, headers, token: csrf.token, key, consoleUrl, setupLink });
  }

  /** autocannon against one server; every request carries the next user of a shuffled order, so consecutive logins differ. */
  const run = (s: (typeof servers)[number], seconds: number, tally?: { latencies: number[]; requests: number; durationS: number; errors: number; codes: Record<string, number> }) => {
    const order = Uint32Array.from({ length: s.users }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let next = 0;
    const options = {
      url: `${s.child.url}/login`,
      connections: LOGIN_CONNECTIONS,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          headers: s.headers,
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: new URLSearchParams({ _csrf: s.token, identifier: scaleLogin(order[next++ % order.length]!), password: SCALE_PASSWORD }).toString(),
          }),
        },
      ],
    };
    return new Promise<void>((resolve, reject) => {
      const instance = autocannon(options as autocannon.Options, (err, r) => {
        if (err) return reject(err);
        if (tally) {
          tally.requests += r.requests.total;
          tally.durationS += r.duration;
          tally.errors += r.errors;
          for (const [code, { count }] of Object.entries(r.statusCodeStats)) tally.codes[code] = (tally.codes[code] ?? 0) + count;
        }
        resolve();
      });
      if (tally) instance.on('response', (_c: unknown, _status: number, _bytes: number, ms: number) => tally.latencies.push(ms));
    });
  };

  for (const s of servers) {
    if (WARMUP > 0) {
      log(`  POST /login, ${s.users} users: warm-up ${WARMUP} s`);
      await run(s, WARMUP);
    }
  }
  const tallies = servers.map(() => ({ latencies: [] as number[], requests: 0, durationS: 0, errors: 0, codes: {} as Record<string, number> }));
  const rounds = 2;
  log(`  POST /login, ${servers.map((s) => s.users).join(' | ')} users: measuring ${DURATION} s each, ${rounds} slices of ${DURATION / rounds} s, ${LOGIN_CONNECTIONS} connections`);
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) await run(servers[i]!, DURATION / rounds, tallies[i]);
  }
  const logins: ScaleLogin[] = servers.map((s, i) => {
    const t = tallies[i]!;
    const sorted = Float64Array.from(t.latencies).sort();
    const unexpected = t.requests - (t.codes['303'] ?? 0);
    if (unexpected || t.errors) problems.push(`POST /login, ${s.users} users: ${unexpected} unexpected responses ${JSON.stringify(t.codes)}, ${t.errors} errors`);
    return {
      users: s.users,
      durationS: t.durationS,
      requests: t.requests,
      reqPerSec: t.requests / t.durationS,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
      statusCodes: t.codes,
      errors: t.errors,
      unexpected,
      seedS: s.seedS,
      seededNow: s.seededNow,
    };
  });
  for (const l of logins) log(`  → ${l.users} users: ${fmt(l.reqPerSec, 1)} req/s, p50 ${fmt(l.latencyMs.p50, 1)} ms, p99 ${fmt(l.latencyMs.p99, 1)} ms`);
  const [small, big] = logins as [ScaleLogin, ScaleLogin];
  const api = await measureApi(servers, problems);
  const consoleResult = await measureConsole(servers, problems);
  await Promise.all(servers.map((s) => s.child.stop()));

  // The CLI as an operator runs it, through tsx, on the million-user folder (the stopped server's copy).
  const million = servers[servers.length - 1]!;
  const out = path.join(tmp, 'scale-export.jsonl');
  const rssFile = path.join(tmp, 'scale-export.maxrss');
  const preload = `data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(${JSON.stringify(rssFile)},String(process.resourceUsage().maxRSS)))`;
  const cliArgs = ['users', 'export', '--realm', SCALE_REALM, '--format', 'jsonl', '--out', out];
  const cli = path.join(ROOT, 'src', 'cli', 'gatehouse.ts');
  if (!existsSync(cli)) throw new Error('src/cli/gatehouse.ts is missing: the scale export runs the CLI');
  log(`bench: scale: exporting ${million.users} users with the CLI (stopped after ${SCALE_EXPORT_TIMEOUT} s)`);
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', preload, cli, ...cliArgs], {
    cwd: ROOT,
    env: { ...childEnv, GATEHOUSE_CONFIG: path.join(path.dirname(million.dataDir), 'gatehouse.config.json'), DATA_DIR: million.dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let hwm = 0;
  // maxRSS comes from the child at exit; a child stopped at the deadline never gets there, so VmHWM is sampled meanwhile.
  const sampler = setInterval(() => {
    try {
      hwm = Math.max(hwm, procMemory(proc.pid!).hwm);
    } catch {
      // exited
    }
  }, 200);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    try {
      hwm = Math.max(hwm, procMemory(proc.pid!).hwm);
    } catch {
      // exited just now
    }
    proc.kill('SIGKILL');
  }, SCALE_EXPORT_TIMEOUT * 1000);
  const exitCode = await new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  clearTimeout(deadline);
  children.delete(proc);
  const exported = await countLines(out);
  rmSync(out, { force: true });
  const maxRss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) * 1024 : NaN;
  if (!timedOut && exitCode !== 0) problems.push(`export exited with ${exitCode}: ${stderr.trim().slice(0, 500)}`);
  if (!timedOut && exported !== million.users) problems.push(`export wrote ${exported} users, not ${million.users}`);
  const exportResult: ScaleResult['export'] = {
    users: million.users,
    exported,
    seconds,
    usersPerSec: exported / seconds,
    timedOut,
    exitCode,
    peakRssMB: (Number.isFinite(maxRss) ? maxRss : hwm) / MB,
    rssSource: Number.isFinite(maxRss) ? 'resourceUsage().maxRSS' : 'VmHWM (last sample)',
    command: `GATEHOUSE_CONFIG=… DATA_DIR=… node --import tsx src/cli/gatehouse.ts ${cliArgs.slice(0, -1).join(' ')} <tmp file>`,
  };
  log(`  → exported ${exported} of ${million.users} in ${fmt(seconds, 1)} s${timedOut ? ' (stopped at the deadline)' : ''}, peak RSS ${fmt(exportResult.peakRssMB, 1)} MB`);

  return {
    connections: LOGIN_CONNECTIONS,
    logins,
    ratio: { reqPerSec: big.reqPerSec / small.reqPerSec, p50: big.latencyMs.p50 / small.latencyMs.p50, p99: big.latencyMs.p99 / small.latencyMs.p99 },
    export: exportResult,
    api,
    console: consoleResult,
    problems,
  };
}

function scaleReport(s: ScaleResult): string[] {
  const rows = [['scale', 'users', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'bad']];
  for (const l of s.logins) {
    rows.push(['POST /login (valid, a different user each)', String(l.users), String(s.connections), fmt(l.reqPerSec, 1), fmt(l.latencyMs.p50, 1), fmt(l.latencyMs.p99, 1), String(l.requests), String(l.unexpected + l.errors)]);
  }
  const [small, big] = s.logins as [ScaleLogin, ScaleLogin];
  const e = s.export;
  const ratioRows = [
    ['scale ratio', 'value', 'target', 'detail'],
    ['req/s 1M ÷ 1k', fmt(s.ratio.reqPerSec, 2), '(target ≈ 1)', `${fmt(big.reqPerSec, 1)} / ${fmt(small.reqPerSec, 1)} req/s`],
    ['p50 1M ÷ 1k', fmt(s.ratio.p50, 2), '(target ≈ 1)', `${fmt(big.latencyMs.p50, 1)} / ${fmt(small.latencyMs.p50, 1)} ms`],
    ['p99 1M ÷ 1k', fmt(s.ratio.p99, 2), '(target ≈ 1)', `${fmt(big.latencyMs.p99, 1)} / ${fmt(small.latencyMs.p99, 1)} ms`],
    [
      'export users/s',
      fmt(e.usersPerSec, 0),
      '(info)',
      `${e.exported} of ${e.users} users in ${fmt(e.seconds, 1)} s${e.timedOut ? ` — STOPPED at BENCH_SCALE_EXPORT_TIMEOUT=${SCALE_EXPORT_TIMEOUT} s, not finished` : ''}, tsx start-up included`,
    ],
    ['export peak RSS (MB)', fmt(e.peakRssMB, 1), '(info)', e.rssSource],
  ];
  const a = s.api;
  const apiRows = [['management API', 'users', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'bad']];
  for (const [label, series] of [['GET users?limit=100 (6 sorts/filters)', a.list], ['GET users/count (4 filters)', a.count]] as const) {
    for (const l of series) apiRows.push([label, String(l.users), String(a.connections), fmt(l.reqPerSec, 1), fmt(l.latencyMs.p50, 2), fmt(l.latencyMs.p99, 2), String(l.requests), String(l.unexpected + l.errors)]);
  }
  const c = s.console;
  for (const l of c?.users ?? []) apiRows.push(['console GET /admin/realms/…/users (5 sorts/filters, 50 a page)', String(l.users), String(c!.connections), fmt(l.reqPerSec, 1), fmt(l.latencyMs.p50, 2), fmt(l.latencyMs.p99, 2), String(l.requests), String(l.unexpected + l.errors)]);
  const ratioOf = (series: ApiLatency[]) => series[series.length - 1]!.latencyMs.p99 / series[0]!.latencyMs.p99;
  const x = a.export;
  ratioRows.push(
    ['list p99 1M ÷ 1k', fmt(ratioOf(a.list), 2), '≤ 2', `${ratioOf(a.list) <= 2 ? 'met' : 'MISSED'}: ${fmt(a.list[a.list.length - 1]!.latencyMs.p99, 2)} / ${fmt(a.list[0]!.latencyMs.p99, 2)} ms`],
    ['count p99 1M ÷ 1k', fmt(ratioOf(a.count), 2), '(info)', `${fmt(a.count[a.count.length - 1]!.latencyMs.p99, 2)} / ${fmt(a.count[0]!.latencyMs.p99, 2)} ms`],
    c
      ? ['console users page p99 1M ÷ 1k', fmt(ratioOf(c.users), 2), '(info)', `${fmt(c.users[c.users.length - 1]!.latencyMs.p99, 2)} / ${fmt(c.users[0]!.latencyMs.p99, 2)} ms; p50 ${fmt(c.users[c.users.length - 1]!.latencyMs.p50, 2)} / ${fmt(c.users[0]!.latencyMs.p50, 2)} ms`]
      : ['console users page p99 1M ÷ 1k', '—', '(info)', 'not measured: see the warnings'],
    ['API export users/s', fmt(x.usersPerSec, 0), '(info)', `${x.exported} of ${x.users} in ${fmt(x.seconds, 1)} s${x.timedOut ? ` — STOPPED at ${SCALE_EXPORT_TIMEOUT} s` : ''}`],
    ['API export server peak RSS (MB)', fmt(x.peakRssMB, 1), '≤ 200', `${x.peakRssMB <= 200 ? 'met' : 'MISSED'}: ${fmt(x.rssBeforeMB, 1)} MB before, sampled every 100 ms`],
  );
  return [
    table(rows),
    '',
    table(apiRows),
    '',
    table(ratioRows),
    `scale: seeded stores cached in ${SCALE_CACHE_DIR}; ${s.logins.map((l) => `${l.users}: ${l.seededNow ? `seeded now in ${fmt(l.seedS, 1)} s` : 'from cache'}`).join(', ')}.`,
    ...s.problems.map((p) => `WARNING: scale: ${p}`),
  ];
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = Date.now();
  // Hard stop: the bench is bounded whatever happens to a child or a socket.
  const budget = (ONLY.size * (WARMUP + DURATION * (1 + RETRIES) + 20) + 90 + (ONLY.has('scale') ? 2 * WARMUP + SCALE_EXPORT_TIMEOUT + 180 + DURATION + 60 : 0)) * 1000;
  setTimeout(() => {
    process.stderr.write(`bench: did not finish within ${budget / 1000} s, giving up\n`);
    process.exit(3);
  }, budget).unref();

  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  // The orgs realm's own host: the same loopback listener, told apart by the Host header.
  const orgsUrl = `http://localhost:${port}`;
  const rateLimits = { loginPerIdentifierAndIp: { points: 1_000_000, durationSeconds: 60 }, loginPerIp: { points: 1_000_000, durationSeconds: 60 } };
  const benchApp = { clientId: 'bench-app', name: 'Bench app', redirectUris: [CALLBACK], delivery: 'form_post' };
  const configPath = path.join(tmpDir, 'gatehouse.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      defaultRealm: 'bench',
      realms: [
        {
          id: 'bench',
          name: 'Gatehouse Bench',
          publicUrl,
          // One user signs in from one IP at 8 connections: the brute-force rules count each attempt before its
          // check, so at the defaults (5 per identifier and IP) concurrent right passwords would meet a 429.
          rateLimits,
          apps: [benchApp],
        },
        {
          id: ORGS_REALM,
          name: 'Gatehouse Bench orgs',
          publicUrl: orgsUrl,
          rateLimits,
          tokens: { fields: ['custom', 'orgs'], maxOrgs: 50 },
          apps: [benchApp],
        },
      ],
    }),
  );

  // As production runs (the Dockerfile's ENV); MALLOC_* given to the bench win.
  const childEnv: NodeJS.ProcessEnv = { ...PRODUCTION_ENV, ...process.env, NODE_ENV: 'production' };
  delete childEnv.NODE_OPTIONS; // a debugger or loader from the parent's shell would skew both children
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  if (CPU_PROF) mkdirSync(profileDir, { recursive: true });

  log(`bench: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${DURATION} s per scenario (+${WARMUP} s warm-up)`);
  let scripts = { server: path.join(BENCH_DIR, 'server.ts'), bare: path.join(BENCH_DIR, 'bare.ts') };
  if (RUNTIME === 'compiled') {
    log('bench: compiling (BENCH_RUNTIME=tsx runs the sources through tsx instead)');
    const outDir = path.join(tmpDir, 'build');
    compile(outDir);
    scripts = { server: path.join(outDir, 'bench', 'server.js'), bare: path.join(outDir, 'bench', 'bare.js') };
  }
  // Before the other scenarios' servers start, so neither disturbs the other.
  const scale = ONLY.has('scale') ? await runScale(scripts.server, childEnv, tmpDir) : undefined;
  if (!SCENARIO_IDS.some((id) => ONLY.has(id))) {
    process.stdout.write(['', `Gatehouse bench — ${new Date().toISOString()} — ${os.cpus().length} CPU, node ${process.version}, ${RUNTIME}, ${DURATION} s/scenario`, '', ...scaleReport(scale!), ''].join('\n'));
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = { at: new Date().toISOString(), elapsedS: (Date.now() - started) / 1000, settings: { runtime: RUNTIME, durationS: DURATION, warmupS: WARMUP, loginConnections: LOGIN_CONNECTIONS }, scale };
    writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
    log(`bench: wrote bench/results/latest.json (${fmt(json.elapsedS)} s)`);
    if (scale!.problems.length) process.exitCode = 1;
    return;
  }
  const dataDir = path.join(tmpDir, 'data');
  const runHandoff = HANDOFF_IDS.some((id) => ONLY.has(id));
  const key = ONLY.has('apikey') || runHandoff ? managementKey({ ...childEnv, GATEHOUSE_CONFIG: configPath, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }) : '';
  log(`bench: starting Gatehouse and the bare Express app (${RUNTIME})`);
  const [gatehouse, bare] = await Promise.all([
    spawnChild(
      'gatehouse',
      scripts.server,
      {
        ...childEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEHOUSE_CONFIG: configPath,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        LOG_REQUESTS: 'false',
        COOKIE_SECURE: 'false',
      },
      [...PRODUCTION_NODE_FLAGS, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...NODE_ARGS],
    ),
    // The same V8 settings as Gatehouse, so the ratio compares handlers, not runtimes.
    ONLY.has('bare') ? spawnChild('bare', scripts.bare, { ...childEnv, PORT: '0', HOST: '127.0.0.1' }, [...PRODUCTION_NODE_FLAGS]) : Promise.resolve(null),
  ]);
  childPids = [gatehouse.pid, ...(bare ? [bare.pid] : [])];
  const base = gatehouse.url;
  if (base !== publicUrl) throw new Error(`Gatehouse listens on ${base}, expected ${publicUrl}`);

  log('bench: preparing the user, a session and a CSRF pair');
  const fixtures = await prepare(base, key);
  if (runHandoff) log(`bench: preparing the ${ORGS_REALM} realm: 55 orgs, users with ${HANDOFF_MEMBERSHIPS.join(', ')} memberships, signed in`);
  const handoff = runHandoff ? await prepareHandoff(orgsUrl, key) : undefined;
  for (const p of handoff?.problems ?? []) log(`bench: PROBLEM: ${p}`);
  const idle = procMemory(gatehouse.pid);
  const sampler = new RssSampler(gatehouse.pid);

  const scenarios: Record<ScenarioId, Scenario> = {
    bare: {
      id: 'bare',
      label: 'bare Express hello',
      connections: PAGE_CONNECTIONS,
      http: bare ? { load: { url: `${bare.url}/`, connections: PAGE_CONNECTIONS }, expectStatus: 200, server: bare } : undefined,
      sampled: false,
    },
    page: {
      id: 'page',
      label: 'GET /login',
      connections: PAGE_CONNECTIONS,
      http: { load: { url: `${base}/login`, connections: PAGE_CONNECTIONS }, expectStatus: 200, server: gatehouse },
      sampled: true,
    },
    apikey: {
      id: 'apikey',
      label: 'POST …/users/authenticate-key',
      connections: PAGE_CONNECTIONS,
      http: {
        load: { url: `${base}/api/v1/realms/bench/users/authenticate-key`, connections: PAGE_CONNECTIONS, method: 'POST', ...fixtures.apiKey },
        expectStatus: 200,
        server: gatehouse,
      },
      sampled: true,
    },
    redirect: {
      id: 'redirect',
      label: 'GET /login signed in → JWT',
      connections: PAGE_CONNECTIONS,
      http: {
        load: { url: `${base}${fixtures.redirectPath}`, connections: PAGE_CONNECTIONS, headers: { cookie: fixtures.sessionCookie } },
        expectStatus: 200,
        server: gatehouse,
      },
      sampled: true,
    },
    ...(Object.fromEntries(
      HANDOFF_IDS.map((id, i) => {
        const user = handoff?.users[i];
        const scenario: Scenario = {
          id,
          label: `hand-off, ${HANDOFF_MEMBERSHIPS[i]} memberships`,
          connections: PAGE_CONNECTIONS,
          http: user
            ? {
                load: { url: `${base}${HANDOFF_PATH}`, connections: PAGE_CONNECTIONS, headers: { host: handoff!.host, cookie: user.sessionCookie } },
                expectStatus: 200,
                server: gatehouse,
              }
            : undefined,
          sampled: true,
        };
        return [id, scenario];
      }),
    ) as Record<HandoffId, Scenario>),
    jwks: {
      id: 'jwks',
      label: 'GET /.well-known/jwks.json',
      connections: PAGE_CONNECTIONS,
      http: { load: { url: `${base}/.well-known/jwks.json`, connections: PAGE_CONNECTIONS }, expectStatus: 200, server: gatehouse },
      sampled: true,
    },
    argon2: { id: 'argon2', label: 'raw argon2.verify', connections: LOGIN_CONNECTIONS, sampled: false },
    login: {
      id: 'login',
      label: 'POST /login (valid)',
      connections: LOGIN_CONNECTIONS,
      http: {
        load: { url: `${base}/login`, connections: LOGIN_CONNECTIONS, method: 'POST', headers: fixtures.login.headers, body: fixtures.login.body },
        expectStatus: 303,
        server: gatehouse,
      },
      sampled: true,
    },
  };
  // The two halves of a ratio share a group and are interleaved. Page slices
  // are short (requests take milliseconds); login slices are longer, so the
  // requests cut off at each slice's end (≈ 100 ms each) weigh little.
  const groups: Array<{ ids: ScenarioId[]; rounds: number }> = [
    { ids: ['bare', 'page', 'apikey'], rounds: Math.max(1, Math.min(4, Math.round(DURATION / 2))) },
    // The orgs realm's three users beside the default realm's hand-off (docs/design/orgs.md §9.2).
    { ids: ['redirect', ...HANDOFF_IDS], rounds: Math.max(1, Math.min(4, Math.round(DURATION / 2))) },
    { ids: ['jwks'], rounds: 1 },
    { ids: ['argon2', 'login'], rounds: Math.max(1, Math.min(2, Math.round(DURATION / 4))) },
  ];

  log('bench: running');
  const results: Partial<Record<ScenarioId, Measurement>> = {};
  const discarded: Measurement[] = [];
  for (const { ids, rounds } of groups) {
    const group = ids.filter((id) => ONLY.has(id)).map((id) => scenarios[id]);
    if (group.length === 0) continue;
    let best: Measurement[] | null = null;
    for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
      const measured = await measureGroup(group, group.length > 1 ? rounds : 1, attempt, sampler);
      for (const r of measured) {
        log(
          `  → ${r.label}: ${fmt(r.reqPerSec, 1)} req/s, p99 ${fmt(r.latencyMs.p99, 1)} ms, other processes ${fmt(r.otherCpuPct)}% CPU` +
            (r.unexpected || r.errors ? `, ${r.unexpected} unexpected, ${r.errors} errors` : ''),
        );
      }
      const noise = Math.max(...measured.map((m) => m.otherCpuPct));
      const bestNoise = best ? Math.max(...best.map((m) => m.otherCpuPct)) : Infinity;
      if (noise < bestNoise) {
        if (best) discarded.push(...best);
        best = measured;
      } else {
        discarded.push(...measured);
      }
      if (noise <= MAX_OTHER_CPU) break;
      if (attempt <= RETRIES) log(`  other processes used up to ${fmt(noise)}% CPU meanwhile (limit ${MAX_OTHER_CPU}%): measuring this group again`);
    }
    for (const m of best!) results[m.id] = m;
  }

  sampler.close();
  const after = procMemory(gatehouse.pid);
  const afterIpc = await gatehouse.mem();
  const afterGc = await gatehouse.mem(true);
  const memory = {
    idleAfterSetupRssMB: idle.rss / MB,
    afterRunRssMB: after.rss / MB,
    peakRssDuringRunMB: sampler.overallMax / MB, // warm-ups included, start-up not
    peakRssLifetimeMB: after.hwm / MB, // VmHWM, includes start-up
    afterRunProcessMemoryUsageMB: {
      rss: afterIpc.rss / MB,
      heapUsed: afterIpc.heapUsed / MB,
      heapTotal: afterIpc.heapTotal / MB,
      external: afterIpc.external / MB,
      arrayBuffers: afterIpc.arrayBuffers / MB,
    },
    /** After a full GC: the live heap (a leak would show here) and what RSS falls back to. */
    afterGcMB: { rss: afterGc.rss / MB, heapUsed: afterGc.heapUsed / MB, heapTotal: afterGc.heapTotal / MB },
  };

  await Promise.all([gatehouse.stop(), bare?.stop()]);

  // ------------------------------------------------------------ ratios
  const ratios: Ratio[] = [];
  const { login, argon2: raw, page, bare: hello, apikey } = results;
  if (login && raw) {
    const value = login.reqPerSec / raw.reqPerSec;
    ratios.push({ name: 'login / raw argon2', value, target: '≥ 0.90', met: value >= 0.9, detail: `${fmt(login.reqPerSec, 1)} / ${fmt(raw.reqPerSec, 1)} per s at concurrency ${login.connections}` });
    const cpu = raw.cpuMsPerRequest / login.cpuMsPerRequest;
    ratios.push({ name: 'CPU: raw verify ÷ login', value: cpu, target: '(info)', met: true, detail: `${fmt(raw.cpuMsPerRequest, 1)} / ${fmt(login.cpuMsPerRequest, 1)} CPU ms per request` });
  }
  if (page && hello) {
    const value = page.reqPerSec / hello.reqPerSec;
    ratios.push({ name: 'GET /login / bare Express', value, target: '≥ 0.50', met: value >= 0.5, detail: `${fmt(page.reqPerSec)} / ${fmt(hello.reqPerSec)} req/s` });
    const p99 = page.latencyMs.p99 / hello.latencyMs.p99;
    ratios.push({ name: 'p99 GET /login ÷ bare p99', value: p99, target: '(info)', met: true, detail: `${fmt(page.latencyMs.p99, 1)} / ${fmt(hello.latencyMs.p99, 1)} ms` });
    const cpu = hello.cpuMsPerRequest / page.cpuMsPerRequest;
    ratios.push({ name: 'CPU: bare ÷ GET /login', value: cpu, target: '(info)', met: true, detail: `${fmt(hello.cpuMsPerRequest, 3)} / ${fmt(page.cpuMsPerRequest, 3)} CPU ms per request` });
  }
  if (apikey && hello) {
    const value = apikey.reqPerSec / hello.reqPerSec;
    ratios.push({ name: 'authenticate-key / bare Express', value, target: '≥ 0.50', met: value >= 0.5, detail: `${fmt(apikey.reqPerSec)} / ${fmt(hello.reqPerSec)} req/s, p99 ${fmt(apikey.latencyMs.p99, 1)} ms` });
  }
  const [m0, m5, m50] = HANDOFF_IDS.map((id) => results[id]);
  const bytes = (n: number) => handoff?.users.find((u) => u.memberships === n)?.jwtBytes;
  if (m0 && m5) {
    const value = m5.reqPerSec / m0.reqPerSec;
    ratios.push({ name: 'hand-off m5 / m0', value, target: '≥ 0.95', met: value >= 0.95, detail: `${fmt(m5.reqPerSec)} / ${fmt(m0.reqPerSec)} req/s, p99 ${fmt(m5.latencyMs.p99, 1)} / ${fmt(m0.latencyMs.p99, 1)} ms, JWT ${bytes(5)} / ${bytes(0)} B` });
  }
  if (m0 && m50) {
    const value = m50.reqPerSec / m0.reqPerSec;
    ratios.push({ name: 'hand-off m50 / m0', value, target: '≥ 0.80', met: value >= 0.8, detail: `${fmt(m50.reqPerSec)} / ${fmt(m0.reqPerSec)} req/s, p99 ${fmt(m50.latencyMs.p99, 1)} / ${fmt(m0.latencyMs.p99, 1)} ms, JWT ${bytes(50)} / ${bytes(0)} B` });
  }
  if (m0 && results.redirect) {
    const r = results.redirect;
    const value = m0.reqPerSec / r.reqPerSec;
    ratios.push({ name: `hand-off m0 (${ORGS_REALM}) / redirect`, value, target: '(info)', met: true, detail: `${fmt(m0.reqPerSec)} / ${fmt(r.reqPerSec)} req/s, p99 ${fmt(m0.latencyMs.p99, 1)} / ${fmt(r.latencyMs.p99, 1)} ms, JWT ${bytes(0)} / ${fixtures.redirectJwtBytes} B` });
  }
  {
    const value = memory.peakRssDuringRunMB;
    ratios.push({
      name: 'peak RSS during run (MB)',
      value,
      target: '≤ 150',
      met: value <= 150,
      detail: `after run ${fmt(memory.afterRunRssMB, 1)} (heap ${fmt(memory.afterRunProcessMemoryUsageMB.heapUsed, 1)}; after GC ${fmt(memory.afterGcMB.rss, 1)}, heap ${fmt(memory.afterGcMB.heapUsed, 1)}), idle ${fmt(memory.idleAfterSetupRssMB, 1)}, VmHWM ${fmt(memory.peakRssLifetimeMB, 1)}`,
    });
  }

  const broken = Object.values(results).filter((r) => r.unexpected > 0 || r.errors > 0);
  const handoffJson = handoff && {
    realm: handoff.realm,
    tokensFields: ['custom', 'orgs'],
    jwtBytes: Object.fromEntries(handoff.users.map((u) => [u.memberships, u.jwtBytes])),
    orgsEntries: Object.fromEntries(handoff.users.map((u) => [u.memberships, u.orgsEntries])),
    redirectJwtBytes: fixtures.redirectJwtBytes,
    reqPerSec: Object.fromEntries(HANDOFF_IDS.map((id, i) => [HANDOFF_MEMBERSHIPS[i], results[id]?.reqPerSec])),
    p99Ms: Object.fromEntries(HANDOFF_IDS.map((id, i) => [HANDOFF_MEMBERSHIPS[i], results[id]?.latencyMs.p99])),
    problems: handoff.problems,
  };
  const noisy = Object.values(results).filter((r) => r.otherCpuPct > MAX_OTHER_CPU);

  // ------------------------------------------------------------- output
  const rows = [['scenario', 'conns', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'bad', 'srv CPU%', 'CPU ms/req', 'client CPU%', 'other CPU%', 'peak RSS MB']];
  for (const id of SCENARIO_IDS) {
    const r = results[id];
    if (!r) continue;
    rows.push([
      r.label,
      String(r.connections),
      fmt(r.reqPerSec, 1),
      fmt(r.latencyMs.p50, 1),
      fmt(r.latencyMs.p90, 1),
      fmt(r.latencyMs.p99, 1),
      fmt(r.latencyMs.max, 1),
      String(r.requests),
      String(r.unexpected + r.errors),
      fmt(r.serverCpuPct),
      fmt(r.cpuMsPerRequest, r.cpuMsPerRequest < 1 ? 3 : 1),
      id === 'argon2' ? '—' : fmt(r.clientCpuPct),
      `${fmt(r.otherCpuPct)}${r.otherCpuPct > MAX_OTHER_CPU ? '!' : ''}${r.attempt > 1 ? ` (try ${r.attempt})` : ''}`,
      fmt(r.peakRssMB, 1),
    ]);
  }
  const ratioRows = [['ratio', 'value', 'target', '', 'detail']];
  for (const r of ratios) ratioRows.push([r.name, fmt(r.value, 2), r.target, r.target === '(info)' ? '' : r.met ? 'met' : 'MISSED', r.detail]);

  const out = [
    '',
    `Gatehouse bench — ${new Date().toISOString()} — ${os.cpus().length} CPU, node ${process.version}, ${RUNTIME}, ${DURATION} s/scenario`,
    '',
    table(rows),
    '',
    table(ratioRows),
    '',
    'srv CPU%, CPU ms/req: the measured process, all threads (raw argon2 runs in the bench process); client: autocannon;',
    'other: every other process on the machine meanwhile. 100% = one core. Memory in MB.',
    ...(handoffJson
      ? [
          `JWT bytes: ${ORGS_REALM} (tokens.fields custom, orgs) with 0 / 5 / 50 memberships ${HANDOFF_MEMBERSHIPS.map((n) => handoffJson.jwtBytes[n]).join(' / ')}; bench (default fields) ${fixtures.redirectJwtBytes}.`,
        ]
      : []),
    ...(handoff?.problems ?? []).map((p) => `PROBLEM: ${p}`),
    ...noisy.map((r) => `NOISY: ${r.label}: other processes used ${fmt(r.otherCpuPct)}% CPU during the measurement (limit ${MAX_OTHER_CPU}%); its numbers are not reliable.`),
    ...broken.map((r) => `WARNING: ${r.label}: ${r.unexpected} unexpected responses ${JSON.stringify(r.statusCodes)}, ${r.errors} errors`),
    ...(scale ? ['', ...scaleReport(scale)] : []),
    '',
  ].join('\n');
  process.stdout.write(out);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = {
    at: new Date().toISOString(),
    elapsedS: (Date.now() - started) / 1000,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      totalMemMB: os.totalmem() / MB,
      node: process.version,
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    },
    settings: {
      runtime: RUNTIME,
      durationS: DURATION,
      warmupS: WARMUP,
      pageConnections: PAGE_CONNECTIONS,
      loginConnections: LOGIN_CONNECTIONS,
      retries: RETRIES,
      maxOtherCpuPct: MAX_OTHER_CPU,
      groups,
      argon2: ARGON2_OPTIONS,
      cpuProf: CPU_PROF,
      nodeFlags: PRODUCTION_NODE_FLAGS,
      gatehouseNodeArgs: NODE_ARGS,
      malloc: Object.fromEntries(Object.entries(childEnv).filter(([k]) => k.startsWith('MALLOC_'))),
    },
    scenarios: results,
    ratios: Object.fromEntries(ratios.map((r) => [r.name, { value: r.value, target: r.target, met: r.met, detail: r.detail }])),
    memory,
    ...(handoffJson ? { handoff: handoffJson } : {}),
    ...(scale ? { scale } : {}),
    problems: broken.map((r) => ({ scenario: r.id, unexpected: r.unexpected, errors: r.errors, statusCodes: r.statusCodes })),
    noisy: noisy.map((r) => ({ scenario: r.id, otherCpuPct: r.otherCpuPct })),
    /** Attempts replaced by a quieter repeat, kept for the record. */
    discarded,
  };
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`bench: wrote bench/results/latest.json (${fmt(json.elapsedS)} s)${CPU_PROF ? `; CPU profile in ${path.relative(ROOT, profileDir)}/` : ''}`);
  if (broken.length || scale?.problems.length || handoff?.problems.length) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
cleanup();
