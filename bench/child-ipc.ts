/**
 * The child side of the bench's IPC: report readiness, answer memory probes,
 * stop on request, and never outlive the parent.
 */
export type ToChild = { type: 'mem'; id: number; gc?: boolean } | { type: 'stop' };
export type FromChild =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'mem'; id: number; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };

export function serveIpc(url: string, stop: () => Promise<void>): void {
  if (!process.send) throw new Error('run me from bench/run.ts (no IPC channel)');
  const send = (msg: FromChild) => process.send?.(msg);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // Exit normally (not by signal) so that --cpu-prof can write its profile.
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 3000).unref();
  };
  process.on('message', (msg: ToChild) => {
    if (msg.type === 'mem') {
      // With --expose-gc, a full collection first: what is left is live, not garbage awaiting collection.
      if (msg.gc) (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'mem', id: msg.id, ...process.memoryUsage() });
    }
    else if (msg.type === 'stop') shutdown();
  });
  // The parent went away (crash, Ctrl-C): do not linger.
  process.on('disconnect', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  send({ type: 'ready', url, pid: process.pid });
}
