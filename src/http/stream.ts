import { once } from 'node:events';
import type { Response } from 'express';

/** The reader of a streamed answer went away: the writer stops (the sink's way of saying so). */
export class ClientGone extends Error {}

/** Writes `chunk`, waiting while the client's buffer is full: memory stays flat however much is written. */
export async function writeWaiting(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return;
  // Whichever comes first; the other's listener is removed (a million users make a thousand waits).
  const done = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
  } finally {
    done.abort();
  }
}

/**
 * A sink for a streamed export (services/users-export.ts): each chunk is
 * written with backpressure; once the client has gone it throws ClientGone,
 * so the export reads no further page.
 */
export function responseSink(res: Response): (chunk: string) => Promise<void> {
  return async (chunk) => {
    await writeWaiting(res, chunk);
    if (res.destroyed) throw new ClientGone();
  };
}
