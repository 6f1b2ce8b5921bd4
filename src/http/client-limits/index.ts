import type { Context, MiddlewareHandler } from "hono";
import { ErrorCode, errorResponse } from "../../mcp/jsonrpc.ts";

export interface ClientLimitsOptions {
  /** Most requests one client may have in flight (event streams not counted); beyond it, 429. */
  maxConcurrent: number;
  /**
   * Of those, how many are worked on at once; the others wait their turn.
   * Default: an eighth of `maxConcurrent` (4 of 32), at least 1.
   */
  maxActive?: number;
  /** Event-stream slots per client, shared with handlers that open streams of their own (`subscriptions/listen`). */
  streams: StreamSlots;
  /** Event streams: long-lived by design, counted separately. */
  isStream: (request: Request) => boolean;
  /** Who the caller is (see client-key.ts: an IPv4 address, or an IPv6 prefix). */
  client: (c: Context) => string;
}

/**
 * Per-client caps on concurrent requests and open event streams, answered
 * with 429 and `Retry-After`. `Bun.serve` has no per-connection hook, so
 * clients are told apart by address (IPv6 by prefix: see client-key.ts).
 *
 * A stream is counted until its body ends, from either side: the client
 * disconnecting or the server closing the session.
 *
 * Fairness: the server has one thread, so 32 costly requests of one client
 * worked on together would hold up everyone else's. Only `maxActive` of a
 * client's requests are worked on at a time; the rest wait, in order, for
 * one of them to finish (their bodies unread). A client that sends one
 * request at a time never waits; a busy one waits behind itself.
 *
 * @example
 * app.use("/mcp", clientLimits({ maxConcurrent: 32, streams: streamSlots(10), isStream, client: (c) => clientKey(c.env?.requestIP(c.req.raw)?.address, 64) }));
 */
export function clientLimits(options: ClientLimitsOptions): MiddlewareHandler {
  const requests = new Map<string, number>();
  const turns = new Map<string, { active: number; waiting: (() => void)[] }>();
  const maxActive = Math.max(1, options.maxActive ?? Math.floor(options.maxConcurrent / 8));
  const { streams } = options;

  /** Resolves when `client` may start one more request. */
  const turn = (client: string): Promise<void> | undefined => {
    let state = turns.get(client);
    if (!state) turns.set(client, (state = { active: 0, waiting: [] }));
    if (state.active < maxActive) {
      state.active++;
      return undefined;
    }
    return new Promise((resolve) => state.waiting.push(resolve));
  };
  const done = (client: string): void => {
    const state = turns.get(client)!;
    const next = state.waiting.shift();
    // The slot passes straight to the next waiting request of the same client.
    if (next) next();
    else if (--state.active === 0) turns.delete(client);
  };

  return async function limitPerClient(c, next) {
    const client = options.client(c);
    if (options.isStream(c.req.raw)) {
      const release = streams.acquire(client);
      if (!release) return tooMany(`Too many open event streams from this address (limit ${streams.max})`);
      try {
        await next();
      } catch (error) {
        release();
        throw error;
      }
      const body = c.res.body;
      if (!body) {
        release();
        return;
      }
      c.res = new Response(countedUntilEnd(body, release), c.res);
      return;
    }
    if ((requests.get(client) ?? 0) >= options.maxConcurrent) return tooMany(`Too many concurrent requests from this address (limit ${options.maxConcurrent})`);
    add(requests, client, 1);
    try {
      const wait = turn(client);
      if (wait) await wait;
      try {
        await next();
      } finally {
        done(client);
      }
    } finally {
      add(requests, client, -1);
    }
  };
}

/** Open event streams per client, against a cap. */
export interface StreamSlots {
  readonly max: number;
  /** Takes a slot: the function that gives it back (idempotent), or `undefined` when the client holds `max`. */
  acquire(client: string): (() => void) | undefined;
}

/**
 * The per-client stream count, on its own so that a handler which opens a
 * stream the middleware cannot foresee (a POST answered with one) counts
 * against the same cap.
 *
 * @example
 * const streams = streamSlots(10);
 * const release = streams.acquire("192.0.2.1"); // undefined once 10 are open
 */
export function streamSlots(max: number): StreamSlots {
  const open = new Map<string, number>();
  return {
    max,
    acquire(client) {
      if ((open.get(client) ?? 0) >= max) return undefined;
      add(open, client, 1);
      let released = false;
      return () => {
        if (!released) add(open, client, -1);
        released = true;
      };
    },
  };
}

function add(map: Map<string, number>, key: string, by: number): void {
  const value = (map.get(key) ?? 0) + by;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}

/** Passes a body through, calling `done` once when it ends, errors or is cancelled. */
function countedUntilEnd(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: finished } = await reader.read();
        if (finished) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}

function tooMany(message: string): Response {
  return errorResponse(429, ErrorCode.ConnectionClosed, message, { headers: { "Retry-After": "5" } });
}
