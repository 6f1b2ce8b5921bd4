import { ErrorCode, errorMessage, errorResponse, type JsonRpcRequest, type RequestId } from "./jsonrpc.ts";

/** The `_meta` key naming the subscription a notification belongs to (the listen request's id). */
export const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

/** What a listener can ask to hear; this server only ever changes its resources (a refresh). */
type Filter = { resourcesListChanged?: boolean };

export interface SubscriptionsOptions {
  /** Interval of keep-alive comments: below every proxy's and Bun's idle timeout. */
  keepAliveMs: number;
  /**
   * Takes one of the client's event-stream slots, shared with its other
   * streams (`MCP_MAX_STREAMS_PER_CLIENT`): the function that gives it back,
   * or `undefined` when the client holds all it may.
   */
  acquireStream: (client: string) => (() => void) | undefined;
}

interface Listener {
  id: RequestId;
  filter: Filter;
  write(message: unknown): boolean;
  end(): void;
}

const encoder = new TextEncoder();

/**
 * `subscriptions/listen` (MCP 2026-07-28): a POST whose answer is an event
 * stream that stays open, on which the server tells the client what
 * changed. Here that is one thing: the documentation index was replaced by
 * a refresh (`notifications/resources/list_changed`). Tools and prompts
 * never change while running, so those filters are not honoured (the
 * acknowledgement says so by leaving them out).
 *
 * Streams end when the client goes, or at shutdown with the completion
 * result the spec asks for.
 */
export class Subscriptions {
  readonly #listeners = new Set<Listener>();
  readonly #options: SubscriptionsOptions;

  constructor(options: SubscriptionsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /**
   * Opens a subscription stream for a checked modern request.
   *
   * @param caller the client's address; the request's signal, whose abort is
   *   the client going away; and what lifts the connection's idle timeout.
   */
  listen(rpc: JsonRpcRequest, caller: { client: string; signal: AbortSignal; keepOpen: () => void }): Response {
    const { client, signal } = caller;
    const requested = rpc.params?.notifications;
    if (typeof requested !== "object" || requested === null || Array.isArray(requested)) {
      return Response.json(errorMessage(rpc.id, ErrorCode.InvalidParams, "subscriptions/listen needs params.notifications (an object saying what to hear)"));
    }
    const honoured: Filter = (requested as Record<string, unknown>).resourcesListChanged === true ? { resourcesListChanged: true } : {};
    const release = this.#options.acquireStream(client);
    if (!release) {
      return errorResponse(429, ErrorCode.ConnectionClosed, "Too many open event streams from this address; close one first", {
        id: rpc.id,
        headers: { "Retry-After": "5" },
      });
    }
    const meta = { [META_SUBSCRIPTION_ID]: rpc.id };
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    let keepAlive: Timer | undefined;
    let open = true;
    const listener: Listener = {
      id: rpc.id,
      filter: honoured,
      write: (message) => send(`data: ${JSON.stringify(message)}\n\n`),
      end: () => {
        if (!open) return;
        // The spec's graceful end: the listen request is answered, then the stream closes.
        send(`data: ${JSON.stringify({ jsonrpc: "2.0", id: rpc.id, result: { resultType: "complete", _meta: meta } })}\n\n`);
        close(true);
      },
    };
    const send = (chunk: string): boolean => {
      if (!open || !controller) return false;
      try {
        controller.enqueue(encoder.encode(chunk));
        return true;
      } catch {
        close(false);
        return false;
      }
    };
    const close = (endStream: boolean) => {
      if (!open) return;
      open = false;
      clearInterval(keepAlive);
      signal.removeEventListener("abort", onAbort);
      this.#listeners.delete(listener);
      release();
      if (endStream) {
        try {
          controller?.close();
        } catch {
          // Already closed by the consumer.
        }
      }
    };
    const onAbort = () => close(false);

    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        // The acknowledgement comes first, naming what will be sent.
        send(`data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { _meta: meta, notifications: honoured } })}\n\n`);
      },
      cancel: () => close(false),
    });
    if (Object.keys(honoured).length === 0) {
      // Nothing it asked for can ever come: say so and end, rather than hold a stream open for nothing.
      queueMicrotask(() => listener.end());
    } else {
      this.#listeners.add(listener);
      caller.keepOpen();
      keepAlive = setInterval(() => send(":\n\n"), this.#options.keepAliveMs);
      keepAlive.unref?.();
      if (signal.aborted) close(false);
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    return new Response(stream, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no" },
    });
  }

  /** Tells every listener that asked that the resource list changed. */
  resourcesChanged(): void {
    for (const listener of [...this.#listeners]) {
      if (!listener.filter.resourcesListChanged) continue;
      listener.write({ jsonrpc: "2.0", method: "notifications/resources/list_changed", params: { _meta: { [META_SUBSCRIPTION_ID]: listener.id } } });
    }
  }

  /** Ends every subscription with its completion result (shutdown). */
  closeAll(): void {
    for (const listener of [...this.#listeners]) listener.end();
  }
}
