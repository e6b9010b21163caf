/**
 * Waits until `arm`'s callback fires or the signal aborts, then disarms both, so nothing waiting on
 * a long-lived signal piles up listeners or timers.
 */
export function untilAborted(signal: AbortSignal, arm: (resolve: () => void) => () => void): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let disarm = () => {};
    const done = () => {
      disarm();
      signal.removeEventListener('abort', done);
      resolve();
    };
    disarm = arm(done);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return untilAborted(signal, (resolve) => {
    const timer = setTimeout(resolve, ms);
    return () => clearTimeout(timer);
  });
}
