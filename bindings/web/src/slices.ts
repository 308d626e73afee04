// Long main-thread work cut into time slices (the first keyframe of a large page): each slice
// runs until its deadline, then yields to the event loop (a MessageChannel task, which is not
// throttled like setTimeout) so input, rendering and the page's own tasks run in between,
// and no single task comes near the 50 ms long-task threshold.
//
// Invariants: `step` is never re-entered; after it returns `true` (done) or after `cancel`,
// it is never called again; `finishNow` runs the remaining steps synchronously (a caller that
// needs the result now, like `Capture.flush`).

/** Wall-clock budget of one slice, in ms (the engine's share of a slice comes after it). */
export const SLICE_MS = 12;

export class Slices {
  private channel: MessageChannel | null = null;
  private done = false;
  private running = false;

  /** `step(deadline)` does work until `performance.now() >= deadline` (checked as it likes)
   * and returns whether all the work is done. */
  constructor(private readonly step: (deadline: number) => boolean) {}

  /** Runs the first slice now; when work remains, the next slices follow as tasks. */
  start(): void {
    this.slice(performance.now() + SLICE_MS);
  }

  /** Whether every step ran (or the work was cancelled). */
  get finished(): boolean {
    return this.done;
  }

  /** Runs what remains now, in this task. */
  finishNow(): void {
    this.slice(Infinity);
  }

  /** Stops: no step runs any more. */
  cancel(): void {
    this.done = true;
    this.close();
  }

  private slice(deadline: number): void {
    if (this.done || this.running) return;
    this.running = true;
    let finished: boolean;
    try {
      finished = this.step(deadline);
    } finally {
      this.running = false;
    }
    if (finished) {
      this.done = true;
      this.close();
    } else if (!this.done) {
      this.next();
    }
  }

  private next(): void {
    if (this.channel === null) {
      this.channel = new MessageChannel();
      this.channel.port1.onmessage = () => this.slice(performance.now() + SLICE_MS);
    }
    this.channel.port2.postMessage(null);
  }

  private close(): void {
    if (this.channel === null) return;
    this.channel.port1.onmessage = null;
    this.channel.port1.close();
    this.channel.port2.close();
    this.channel = null;
  }
}
