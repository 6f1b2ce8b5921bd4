import type { MiddlewareHandler } from "hono";

export interface InFlightOptions {
  /** Requests that are long-lived by design (event streams): not waited for at shutdown. */
  isStream: (request: Request) => boolean;
}

/** Counts requests being answered, so a shutdown can let them finish. */
export interface InFlight {
  middleware: MiddlewareHandler;
  /** Requests being answered now, event streams excluded. */
  readonly count: number;
  /** While draining, every response asks the client to close its connection. */
  draining: boolean;
  /** Resolves `true` once no request is in flight, `false` if `timeoutMs` passed first. */
  idle(timeoutMs: number): Promise<boolean>;
}

/**
 * In-flight request tracking for graceful shutdown: SIGTERM stops accepting,
 * waits for `idle()`, and only then closes sessions and event streams.
 *
 * @example
 * const inFlight = inFlightRequests({ isStream: (r) => r.method === "GET" && new URL(r.url).pathname === "/sse" });
 * app.use("*", inFlight.middleware);
 */
export function inFlightRequests(options: InFlightOptions): InFlight {
  let count = 0;
  let waiters: (() => void)[] = [];
  const tracker: InFlight = {
    draining: false,
    get count() {
      return count;
    },
    middleware: async function trackInFlight(c, next) {
      if (options.isStream(c.req.raw)) return next();
      count++;
      try {
        await next();
      } finally {
        count--;
        if (tracker.draining) {
          try {
            c.res.headers.set("Connection", "close");
          } catch {
            // Immutable headers: the connection closes when the server stops anyway.
          }
        }
        if (count === 0) for (const resolve of waiters.splice(0)) resolve();
      }
    },
    idle(timeoutMs) {
      if (count === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== done);
          resolve(false);
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        waiters.push(done);
      });
    },
  };
  return tracker;
}
