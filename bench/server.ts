/**
 * Gatehouse for the bench, in its own process: `start()` with the
 * environment bench/run.ts prepared (temporary DATA_DIR and GATEHOUSE_CONFIG).
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.ts';
import { start } from '../src/main.ts';
import { serveIpc } from './child-ipc.ts';

const config = loadConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: 'gatehouse-bench' } });
const running = await start(config, logger);
serveIpc(running.url, () => running.stop());
