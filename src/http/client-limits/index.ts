import type { Context, MiddlewareHandler } from "hono";
import { ErrorCode, errorResponse } from "../../mcp/jsonrpc.ts";

export interface ClientLimitsOptions {
  /** Most requests one client may have in flight (event streams not counted). */
  maxConcurrent: number;
  /** Event-stream slots per client, shared with handlers that open streams of their own (`subscriptions/listen`). */
  streams: StreamSlots;
  /** Event streams: long-lived by design, counted separately. */
  isStream: (request: Request) => boolean;
  /** The client's address (`server.requestIP()`); `undefined` counts as one shared client. */
  clientAddress: (c: Context) => string | undefined;
}

/**
 * Per-client caps on concurrent requests and open event streams, answered
 * with 429 and `Retry-After`. `Bun.serve` has no per-connection hook, so
 * clients are told apart by address.
 *
 * A stream is counted until its body ends, from either side: the client
 * disconnecting or the server closing the session.
 *
 * @example
 * app.use("/mcp", clientLimits({ maxConcurrent: 32, streams: streamSlots(10), isStream, clientAddress: (c) => c.env?.requestIP(c.req.raw)?.address }));
 */
export function clientLimits(options: ClientLimitsOptions): MiddlewareHandler {
  const requests = new Map<string, number>();
  const { streams } = options;

  return async function limitPerClient(c, next) {
    const client = options.clientAddress(c) ?? "unknown";
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
      await next();
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
