import type { Clock } from "../../src/tls/clock.ts";

interface Timer {
  at: number;
  fn: () => void;
  /** For `every`: the period. */
  every?: number;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer that
 * comes due on the way, in order, and lets the work each one starts settle
 * before the next, so schedules, backoff and leases are tested in
 * milliseconds without waiting for them.
 *
 * @example
 * const clock = new FakeClock();
 * clock.after(1_000, () => fired.push(clock.now()));
 * await clock.advance(1_000); // fired: [start + 1000]
 */
export class FakeClock implements Clock {
  #now: number;
  readonly #timers = new Map<number, Timer>();
  #ids = 0;

  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  after(ms: number, fn: () => void): () => void {
    return this.#add({ at: this.#now + Math.max(0, ms), fn });
  }

  every(ms: number, fn: () => void): () => void {
    return this.#add({ at: this.#now + ms, fn, every: ms });
  }

  /** When the pending timers are due, soonest first. */
  get pending(): number[] {
    return [...this.#timers.values()].map((timer) => timer.at).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.entries()].filter(([, timer]) => timer.at <= until).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.#now = Math.max(this.#now, timer.at);
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(id);
      timer.fn();
    }
    this.#now = until;
    await settle();
  }

  /** Moves time to the soonest pending timer and runs it (and any due with it). Resolves the new time. */
  async next(): Promise<number> {
    const soonest = this.pending[0];
    if (soonest === undefined) throw new Error("no timer pending");
    await this.advance(soonest - this.#now);
    return this.#now;
  }

  #add(timer: Timer): () => void {
    const id = this.#ids++;
    this.#timers.set(id, timer);
    return () => void this.#timers.delete(id);
  }
}

/** Lets promise chains started by a timer run to their next real wait. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}
