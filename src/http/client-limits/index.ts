import type { Context, MiddlewareHandler } from "hono";

export interface ClientLimitsOptions {
  /** Most requests one client may have in flight (event streams not counted). */
  maxConcurrent: number;
  /** Most event streams one client may hold open. */
  maxStreams: number;
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
 * app.use("/mcp", clientLimits({ maxConcurrent: 32, maxStreams: 10, isStream, clientAddress: (c) => c.env?.requestIP(c.req.raw)?.address }));
 */
export function clientLimits(options: ClientLimitsOptions): MiddlewareHandler {
  const requests = new Map<string, number>();
  const streams = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, by: number) => {
    const value = (map.get(key) ?? 0) + by;
    if (value <= 0) map.delete(key);
    else map.set(key, value);
  };

  return async function limitPerClient(c, next) {
    const client = options.clientAddress(c) ?? "unknown";
    if (options.isStream(c.req.raw)) {
      if ((streams.get(client) ?? 0) >= options.maxStreams) return tooMany(c, `Too many open event streams from this address (limit ${options.maxStreams})`);
      add(streams, client, 1);
      let released = false;
      const release = () => {
        if (!released) add(streams, client, -1);
        released = true;
      };
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
    if ((requests.get(client) ?? 0) >= options.maxConcurrent) return tooMany(c, `Too many concurrent requests from this address (limit ${options.maxConcurrent})`);
    add(requests, client, 1);
    try {
      await next();
    } finally {
      add(requests, client, -1);
    }
  };
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

function tooMany(c: Context, message: string): Response {
  return c.json({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }, 429, { "Retry-After": "5" });
}
