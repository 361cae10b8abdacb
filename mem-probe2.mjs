import './dist/config/thread-pool.js';
import { pino } from 'pino';
import { loadConfig } from './dist/config/index.js';
import { start } from './dist/main.js';
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
const config = loadConfig({ ...process.env, DATA_DIR: '/tmp/ghd2', PORT: '0', NODE_ENV: 'production', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false' });
const running = await start(config, pino({ level: 'warn' }));
const s = new Session(); s.connect();
await s.post('HeapProfiler.enable');
await s.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
const ac = spawn('npx', ['autocannon', '-c', '16', '-d', '6', running.url + '/login'], { stdio: 'ignore' });
ac.on('exit', async () => {
  const { profile } = await s.post('HeapProfiler.stopSampling');
  const agg = new Map();
  const walk = (n, stack) => { const f = n.callFrame; const name = `${f.functionName||'(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`; const st = [...stack, name];
    if (n.selfSize) { const k = st.slice(-4).join(' < '); agg.set(k, (agg.get(k)||0)+n.selfSize); }
    for (const c of n.children) walk(c, st); };
  walk(profile.head, []);
  const tot = [...agg.values()].reduce((a,b)=>a+b,0);
  console.log('total MB', (tot/1e6).toFixed(1));
  for (const [k,v] of [...agg].sort((a,b)=>b[1]-a[1]).slice(0,25)) console.log((v/1e6).toFixed(1).padStart(6), k.split(' < ').reverse().join(' < '));
  await running.stop(); process.exit(0);
});
