/**
 * Time as the certificate machinery sees it. Injected, so that tests drive
 * schedules, backoff and leases in milliseconds on a fake clock
 * (test/support/fake-clock.ts) instead of waiting for them.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` once, `ms` from now. Returns a function that cancels it (harmless once it ran). */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms` until cancelled through the returned function. */
  every(ms: number, fn: () => void): () => void;
}

/** The real clock: `Date.now` and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => Bun.sleep(ms),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
