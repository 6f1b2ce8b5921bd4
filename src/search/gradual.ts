/**
 * Work written as a generator that yields at safe points, run either at once
 * or a slice at a time.
 *
 * Indexing a large documentation set takes seconds of CPU, and a server
 * refreshing its index must keep answering meanwhile: run gradually, the
 * same work gives the event loop a turn every few milliseconds. Tests and
 * benchmarks that want the index now run it at once.
 */

/** Work that yields (nothing) whenever it may be paused, and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs the steps to the end, without pausing. */
export function runAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Default slice: short enough that a request waiting behind it is not noticeably late. */
export const SLICE_MS = 8;

/**
 * Runs the steps, pausing for a turn of the event loop (`setImmediate`: timers
 * and I/O go first) whenever a slice of `sliceMs` is used up.
 */
export async function runGradually<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let deadline = performance.now() + sliceMs;
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() >= deadline) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      deadline = performance.now() + sliceMs;
    }
  }
}
