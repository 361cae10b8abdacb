/**
 * Work a route starts once its answer has gone (the reset mail after
 * POST /forgot: every answer leaves at the same moment, whether or not an
 * account exists). Shutdown waits for what is still running here before the
 * store closes, so no such mail is lost to a SIGTERM.
 */
export class AfterResponse {
  private readonly running = new Set<Promise<unknown>>();

  run(task: () => Promise<unknown>): void {
    const p = task().finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Resolves once every task started so far has ended (their errors are the tasks' own to report). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
