/**
 * Bounded waits for tests. A test asserts what happened (an event, a count,
 * an error), never how fast: the bound here only turns a hang into a clear
 * failure, and is set far above what a loaded machine needs.
 */

/** Generous bound for "this settles instead of hanging": many times any real timeout in play. */
export const HANG_BOUND_MS = 30_000;

/**
 * Resolves with how `promise` settled; fails with `what` named if it has not
 * settled within `boundMs` (it hangs).
 */
export async function settled<T>(
  promise: Promise<T>,
  what: string,
  boundMs = HANG_BOUND_MS,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  let timer: Timer | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${boundMs} ms: it hangs`)), boundMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }),
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `promise` rejects with; fails if it resolves, or hangs past `boundMs`. */
export async function rejection(promise: Promise<unknown>, what: string, boundMs = HANG_BOUND_MS): Promise<Error> {
  const outcome = await settled(promise, what, boundMs);
  if (outcome.ok) throw new Error(`expected ${what} to reject, but it resolved`);
  return outcome.error;
}

/** Polls `check` until it holds; fails naming `what` after `boundMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, boundMs = HANG_BOUND_MS, everyMs = 20): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}
