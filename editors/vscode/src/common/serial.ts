/**
 * `SerialQueue`: runs jobs one after another, coalescing requests that arrive while a
 * job is still waiting to start.
 *
 * Used for server restarts (the template's "serialised restart"): an interpreter
 * change, a new API key and the restart command can all fire at once; the server must
 * be stopped and started strictly in turn, and five requests queued behind a running
 * restart should cause one more restart, not five. A request that arrives while a job
 * is *running* queues a new job (the running one may have read stale settings).
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting: Promise<void> | undefined;

  /**
   * Queue `job`, or join the job already waiting to start. Resolves when the job that
   * ran on this request's behalf finished; rejects with its error.
   */
  run(job: () => Promise<void>): Promise<void> {
    if (this.waiting) {
      return this.waiting;
    }
    const started = this.tail.then(() => {
      this.waiting = undefined;
      return job();
    });
    this.waiting = started;
    this.tail = started.catch(() => undefined);
    return started;
  }

  /** Resolves once every queued job has finished (successfully or not). */
  idle(): Promise<void> {
    return this.tail;
  }
}
