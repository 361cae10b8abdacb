/** The baseline: a bare Express hello-world handler, started the same way as bench/server.ts. */
import type { Server } from 'node:http';
import express from 'express';
import { serveIpc } from './child-ipc.ts';

const app = express();
app.get('/', (_req, res) => {
  res.send('Hello World!');
});

const server = await new Promise<Server>((resolve, reject) => {
  const s = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
serveIpc(`http://127.0.0.1:${port}`, async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
});
