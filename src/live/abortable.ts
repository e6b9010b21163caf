/**
 * A one-shot stop signal: what AbortController gives, for what a subscription needs of it. Every
 * open subscription holds one, and an AbortController with its EventTarget costs several times
 * the memory (bench/RESULTS.md, scenario 2).
 */
export class StopSignal {
  aborted = false;
  private listeners: Set<() => void> | undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) listener();
  }

  /** Calls `listener` once on abort; returns the function that cancels that. */
  onAbort(listener: () => void): () => void {
    this.listeners ??= new Set();
    this.listeners.add(listener);
    return () => this.listeners?.delete(listener);
  }
}

/**
 * Waits until `arm`'s callback fires or the signal aborts, then disarms both, so nothing waiting on
 * a long-lived signal piles up listeners or timers.
 */
export function untilAborted(signal: StopSignal, arm: (resolve: () => void) => () => void): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let disarm = () => {};
    let off = () => {};
    const done = () => {
      disarm();
      off();
      resolve();
    };
    disarm = arm(done);
    off = signal.onAbort(done);
  });
}

export function sleep(ms: number, signal: StopSignal): Promise<void> {
  return untilAborted(signal, (resolve) => {
    const timer = setTimeout(resolve, ms);
    return () => clearTimeout(timer);
  });
}
