/**
 * The legacy MCP "HTTP+SSE" server transport (spec revision 2024-11-05) on
 * web-standard `Request`/`Response`/`ReadableStream`, for Bun.
 *
 * The SDK ships this transport as `SSEServerTransport`, but it writes to a
 * Node `ServerResponse`; under `Bun.serve` there is none. This class keeps the
 * SDK's wire format (an `endpoint` event carrying a relative
 * `<endpoint>?sessionId=<id>` URL, then one `message` event per JSON-RPC
 * message) so the SDK's own `SSEClientTransport`, and every other 2024-11-05
 * client, talks to it unchanged.
 *
 * One instance is one session: one long-lived GET stream (server → client)
 * plus any number of POSTs (client → server) routed to it by `sessionId`.
 *
 * @module
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestInfo } from '@modelcontextprotocol/sdk/types.js';
import { isJsonContentType } from './http-request.ts';
import { errorResponse, messageKind } from './jsonrpc.ts';
import { readBody } from './request-body.ts';

/** Options for {@link WebStandardSSEServerTransport}. */
export interface WebStandardSSEServerTransportOptions {
  /**
   * Path (or URL; only its path, query and fragment are used, as in the SDK)
   * the client must POST its messages to, for example `/message`. The
   * `sessionId` query parameter is added to it.
   */
  endpoint: string;
  /** Session identifier; defaults to `crypto.randomUUID()`. */
  sessionId?: string;
  /**
   * Interval in milliseconds between `: keep-alive` SSE comment lines, which
   * keep proxies and the server's own idle timeout from closing a quiet
   * stream. Default 15000; `0` disables them. Keep it below `Bun.serve`'s
   * `idleTimeout` (Bun's default is 10 s) or raise that timeout.
   */
  keepAliveMs?: number;
  /** Largest accepted POST body in bytes; larger bodies get 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** Extra, per-request context for {@link WebStandardSSEServerTransport.handlePostMessage}. */
export interface HandlePostMessageOptions {
  /** Authentication result of the caller, passed on to `onmessage` as `extra.authInfo`. */
  authInfo?: AuthInfo;
  /**
   * The body, already read and parsed by the caller (as the SDK's Streamable
   * HTTP transport's `parsedBody` option): the request body is then not read
   * again. Still checked for the JSON-RPC shape.
   */
  parsedBody?: unknown;
}

/** Default for {@link WebStandardSSEServerTransportOptions.keepAliveMs}. */
export const DEFAULT_SSE_KEEP_ALIVE_MS = 15_000;
/** Default for {@link WebStandardSSEServerTransportOptions.maxBodyBytes} (1 MiB). */
export const DEFAULT_SSE_MAX_BODY_BYTES = 1024 * 1024;

/** `setInterval` silently fires immediately for delays above 2^31-1 ms; clamp instead. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

type State = 'new' | 'open' | 'closed';

/**
 * Server side of one legacy HTTP+SSE MCP session, built on web-standard APIs.
 *
 * Lifecycle: construct it, `await server.connect(transport)` (which calls
 * {@link start}), then return {@link response} from the GET handler and route
 * POSTs carrying its `sessionId` to {@link handlePostMessage}. The session ends,
 * and `onclose` fires exactly once, when {@link close} is called, when the
 * client disconnects (the body stream is cancelled or the `signal` given to
 * {@link response} aborts), or when {@link close} is called before any stream
 * was opened.
 *
 * @example
 * ```ts
 * const sessions = new Map<string, WebStandardSSEServerTransport>();
 * Bun.serve({
 *   idleTimeout: 60,
 *   async fetch(req) {
 *     const url = new URL(req.url);
 *     if (req.method === 'GET' && url.pathname === '/sse') {
 *       const transport = new WebStandardSSEServerTransport({ endpoint: '/message' });
 *       sessions.set(transport.sessionId, transport);
 *       transport.onclose = () => sessions.delete(transport.sessionId);
 *       await createMcpServer().connect(transport);
 *       return transport.response(req.signal);
 *     }
 *     if (req.method === 'POST' && url.pathname === '/message') {
 *       const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
 *       return transport
 *         ? transport.handlePostMessage(req)
 *         : new Response('Unknown session', { status: 404 });
 *     }
 *     return new Response('Not found', { status: 404 });
 *   },
 * });
 * ```
 */
export class WebStandardSSEServerTransport implements Transport {
  /** Identifies this session in the POST endpoint's `sessionId` query parameter. */
  readonly sessionId: string;

  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  readonly #endpoint: string;
  readonly #keepAliveMs: number;
  readonly #maxBodyBytes: number;
  readonly #encoder = new TextEncoder();

  #state: State = 'new';
  #started = false;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#shutdown(false);

  /**
   * @throws {TypeError} when `endpoint` or `sessionId` is empty.
   * @throws {RangeError} when `keepAliveMs` is negative or not finite, or
   *   `maxBodyBytes` is not a positive finite number.
   */
  constructor(options: WebStandardSSEServerTransportOptions) {
    const { endpoint, sessionId = crypto.randomUUID() } = options;
    const keepAliveMs = options.keepAliveMs ?? DEFAULT_SSE_KEEP_ALIVE_MS;
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_SSE_MAX_BODY_BYTES;
    if (endpoint === '') throw new TypeError('endpoint must not be empty');
    if (sessionId === '') throw new TypeError('sessionId must not be empty');
    if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) {
      throw new RangeError(`keepAliveMs must be 0 or a positive number, got ${keepAliveMs}`);
    }
    if (!Number.isFinite(maxBodyBytes) || maxBodyBytes <= 0) {
      throw new RangeError(`maxBodyBytes must be a positive number, got ${maxBodyBytes}`);
    }
    this.sessionId = sessionId;
    this.#endpoint = endpoint;
    this.#keepAliveMs = Math.min(keepAliveMs, MAX_TIMER_DELAY_MS);
    this.#maxBodyBytes = maxBodyBytes;
  }

  /**
   * Part of the `Transport` contract; `Server.connect()` calls it. The stream
   * itself is opened by {@link response}, so this only guards against reuse.
   *
   * @throws {Error} (rejects) when called twice or after the transport closed.
   */
  async start(): Promise<void> {
    if (this.#state === 'closed') throw new Error('SSE transport is closed and cannot be restarted');
    if (this.#started) {
      throw new Error(
        'SSE transport already started; note that Server.connect() calls start() automatically',
      );
    }
    this.#started = true;
  }

  /**
   * Opens the session's event stream: a `200 text/event-stream` Response whose
   * first event is `endpoint` with data `<endpoint>?sessionId=<id>` (relative,
   * as the SDK sends it), followed by `message` events and `: keep-alive`
   * comments. Call it once, from the GET handler, after `Server.connect()`.
   *
   * @param signal Usually the GET request's `req.signal`; its abort is treated
   *   as a client disconnect. An already-aborted signal closes the session at once.
   * @throws {Error} when called a second time or after {@link close}.
   */
  response(signal?: AbortSignal): Response {
    if (this.#state === 'closed') throw new Error('SSE transport is closed');
    if (this.#state === 'open') throw new Error('response() was already called for this session');
    this.#state = 'open';

    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        this.#write(`event: endpoint\ndata: ${this.#endpointUrl()}\n\n`);
      },
      // Bun cancels the body stream when the client goes away.
      cancel: () => this.#shutdown(false),
    });

    if (this.#keepAliveMs > 0) {
      this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), this.#keepAliveMs);
      // A quiet session must not be what keeps the process alive.
      (this.#keepAlive as { unref?: () => void }).unref?.();
    }

    if (signal) {
      if (signal.aborted) {
        this.#shutdown(true);
      } else {
        this.#signal = signal;
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }

    return new Response(stream, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        // nginx and similar proxies buffer responses by default, which would
        // hold back every event until the buffer fills.
        'X-Accel-Buffering': 'no',
      },
    });
  }

  /**
   * Handles one client → server POST: checks the media type (415), the body
   * size (413, from `Content-Length` and again while reading, since that
   * header may be absent or wrong), JSON syntax and the JSON-RPC shape (400),
   * then hands each message to `onmessage` and answers `202 Accepted`. A
   * JSON-RPC batch (array) is validated as a whole and then delivered element
   * by element. When no stream is open it answers 404 (never opened) or 410
   * (closed, including while the body was being read; nothing is delivered
   * then). Never rejects and never answers 5xx: bad input is reported as 4xx
   * plus `onerror`; an exception thrown by `onmessage` goes to `onerror` and
   * the message still counts as accepted. Error answers carry a JSON-RPC error
   * object without an id (-32700 for unparsable bodies, -32600 for invalid
   * messages, -32001 for a closed session, -32000 otherwise).
   */
  async handlePostMessage(request: Request, options: HandlePostMessageOptions = {}): Promise<Response> {
    if (this.#state === 'new') {
      return errorResponse(404, -32000, 'SSE stream not connected: open the event stream before posting messages');
    }
    if (this.#state === 'closed') {
      return errorResponse(410, -32001, 'SSE session closed: open a new event stream to start a new session');
    }
    if (!isJsonContentType(request.headers.get('content-type'))) {
      return this.#reject(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }

    let json: unknown = options.parsedBody;
    if (json === undefined) {
      const body = await readBody(request, this.#maxBodyBytes);
      if (body.kind === 'too-large') {
        return this.#reject(413, -32000, `Payload Too Large: request body must not exceed ${this.#maxBodyBytes} bytes`);
      }
      if (body.kind === 'unreadable') {
        return this.#reject(400, -32700, `Parse error: ${body.reason}`);
      }
      try {
        json = JSON.parse(body.text);
      } catch {
        return this.#reject(400, -32700, 'Parse error: request body is not valid JSON');
      }
    }

    const candidates = Array.isArray(json) ? json : [json];
    if (candidates.length === 0) {
      return this.#reject(400, -32600, 'Invalid Request: empty JSON-RPC batch');
    }
    const messages: JSONRPCMessage[] = [];
    // The shape check of the rest of the server (jsonrpc.ts), not the SDK's
    // zod schema: that would load zod at start for this one test.
    for (const candidate of candidates) {
      if (messageKind(candidate) === 'invalid') {
        return this.#reject(400, -32600, 'Invalid Request: body is not a JSON-RPC 2.0 message');
      }
      messages.push(candidate as JSONRPCMessage);
    }

    // The stream may have closed while the body was being read; any reply
    // could no longer reach the client, so do not deliver.
    if (this.#state !== 'open') {
      return errorResponse(410, -32001, 'SSE session closed: open a new event stream to start a new session');
    }
    const extra: MessageExtraInfo = { requestInfo: requestInfoOf(request) };
    if (options.authInfo) extra.authInfo = options.authInfo;
    for (const message of messages) {
      try {
        this.onmessage?.(message, extra);
      } catch (error) {
        this.onerror?.(toError(error));
      }
    }
    return text(202, 'Accepted');
  }

  /**
   * Sends one JSON-RPC message as an `event: message` SSE event.
   *
   * @throws {Error} (rejects) when the stream has not been opened with
   *   {@link response} yet, or the session is closed.
   */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#state === 'new') throw new Error('SSE transport not connected: response() has not been called');
    if (this.#state === 'closed') throw new Error('SSE transport is closed; cannot send');
    if (!this.#write(messageEvent(JSON.stringify(message)))) {
      throw new Error('SSE transport is closed; cannot send');
    }
  }

  /**
   * Ends the event stream, stops keep-alives and fires `onclose`. Idempotent:
   * later calls (including re-entrant ones from `onclose`) do nothing.
   */
  async close(): Promise<void> {
    this.#shutdown(true);
  }

  /** Relative endpoint URL with the session id, built exactly like the SDK does. */
  #endpointUrl(): string {
    // A dummy base lets URLSearchParams handle existing queries and encoding.
    const url = new URL(this.#endpoint, 'http://localhost');
    url.searchParams.set('sessionId', this.sessionId);
    return url.pathname + url.search + url.hash;
  }

  /** Enqueues one SSE chunk; returns false (and shuts down) if the stream is gone. */
  #write(chunk: string): boolean {
    if (this.#state !== 'open' || !this.#controller) return false;
    try {
      this.#controller.enqueue(this.#encoder.encode(chunk));
      return true;
    } catch {
      // enqueue throws once the consumer has cancelled; that is a disconnect.
      this.#shutdown(false);
      return false;
    }
  }

  /**
   * The single way into the closed state, so `onclose` fires exactly once no
   * matter how many of close(), cancel and abort happen, in any order.
   *
   * @param endStream whether to close the stream ourselves (not needed, and
   *   not possible, when the consumer cancelled it).
   */
  #shutdown(endStream: boolean): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    if (endStream && this.#controller) {
      try {
        this.#controller.close();
      } catch {
        // Already closed or errored by the consumer: nothing left to end.
      }
    }
    this.#controller = undefined;
    this.onclose?.();
  }

  #reject(status: number, code: number, message: string): Response {
    this.onerror?.(new Error(message));
    return errorResponse(status, code, message);
  }
}

function requestInfoOf(request: Request): RequestInfo {
  const info: RequestInfo = { headers: Object.fromEntries(request.headers) };
  try {
    info.url = new URL(request.url);
  } catch {
    // Only hand-built Requests can have a relative URL; omit it rather than fail.
  }
  return info;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** One JSON-RPC message (its JSON text) as an SSE `message` event: how both MCP HTTP transports frame what they send. */
export function messageEvent(json: string): string {
  return `event: message\ndata: ${json}\n\n`;
}
