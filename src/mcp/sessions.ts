import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Fields, Logger } from "../log/index.ts";
import { throttled } from "../log/throttle.ts";
import type { McpDispatcher } from "./dispatcher.ts";
import { batchRefusal, type McpPost } from "./http-request.ts";
import { answerJson } from "./answer-json.ts";
import { ErrorCode, errorResponse, messageKind, type JsonRpcError, type JsonRpcRequest, type JsonRpcResult } from "./jsonrpc.ts";
import { LegacySession } from "./session.ts";
import { messageEvent, WebStandardSSEServerTransport } from "./sse-transport.ts";
import { negotiateLegacyVersion } from "./versions.ts";

export interface SessionOptions {
  /** Answers every session's requests. */
  dispatcher: McpDispatcher;
  /** Most open sessions, both transports together. */
  maxSessions: number;
  /** Most open sessions of one client address. */
  maxSessionsPerClient?: number;
  /** A session with no request for this long is closed. */
  idleMs: number;
  /** Largest POST body the transports accept. */
  maxBodyBytes: number;
  /** Path the legacy SSE client posts to. */
  messagePath: string;
  /** Interval of keep-alive comments on event streams: below every proxy's and Bun's idle timeout. */
  keepAliveMs?: number;
  logger: Logger;
}

interface Session {
  kind: "streamable" | "sse";
  /** The client that opened it (its address, or its IPv6 prefix). */
  client: string;
  session: LegacySession;
  transport: WebStandardStreamableHTTPServerTransport | WebStandardSSEServerTransport;
  lastSeen: number;
}

/** How often a repeated refusal or eviction is logged: once, then once per interval with a count. */
const LOG_INTERVAL_MS = 60_000;

/**
 * The open legacy MCP sessions of both transports: Streamable HTTP (`/mcp`,
 * 2025-03-26 to 2025-11-25, opened by `initialize`) and HTTP+SSE (`/sse` +
 * `/message`, 2024-11-05). Modern (2026-07-28) requests have no session and
 * never come here.
 *
 * Memory stays bounded: at most `maxSessions` are open, and idle ones are
 * closed by a sweep. When the table is full, a new client still gets a
 * session: the least recently used one that is not answering a request is
 * closed to make room (its client starts a new one when it comes back), so a
 * flood degrades the idle, never the newcomer. Only when every session is
 * busy does a new one get 503. The map is kept in order of use, so the least
 * recently used session is its first entry.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: Timer | undefined;
  readonly #log: Logger;
  readonly #logEviction: (fields?: Fields) => void;
  readonly #logRefusal: (fields?: Fields) => void;

  constructor(private readonly options: SessionOptions) {
    this.#log = options.logger;
    this.#logEviction = throttled(options.logger, "warn", "session table full: closed the least recently used idle session for a new one", LOG_INTERVAL_MS);
    this.#logRefusal = throttled(options.logger, "warn", "new session refused", LOG_INTERVAL_MS);
    if (options.idleMs > 0) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(1_000, Math.min(options.idleMs / 4, 60_000)));
      this.#sweeper.unref?.();
    }
  }

  /** Open sessions by transport. */
  get counts(): { streamable: number; sse: number } {
    let streamable = 0;
    for (const session of this.#sessions.values()) if (session.kind === "streamable") streamable++;
    return { streamable, sse: this.#sessions.size - streamable };
  }

  /** Tells every session's client, on its stream if it has one, that something changed (`notifications/...`). */
  notifyAll(method: string): void {
    for (const { session } of this.#sessions.values()) session.notify(method);
  }

  /**
   * A GET (the session's stream) or DELETE (its end) on `/mcp`. Both need a
   * session; their other checks (Accept) stay the SDK transport's.
   */
  async handleStreamableGetOrDelete(request: Request): Promise<Response> {
    const found = this.#streamable(request.headers.get("mcp-session-id"));
    if (found instanceof Response) return found;
    if (request.method === "GET") return withHeadersNow(await found.transport.handleRequest(request));
    return found.transport.handleRequest(request);
  }

  /** A legacy POST on `/mcp`, already read and checked by the boundary. `client` is the caller's address. */
  async handleStreamablePost(request: Request, post: McpPost, client = "unknown"): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    const initialize = post.messages.find((message) => "method" in message && message.method === "initialize" && "id" in message);
    if (sessionId !== null) {
      const found = this.#streamable(sessionId);
      if (found instanceof Response) return found;
      const refused = batchRefusal(post, found.session.version);
      if (refused) return refused;
      const single = answeredDirectly(post, found.session);
      if (single) return sseAnswer(await found.session.answer(single), sessionId);
      return found.transport.handleRequest(request, { parsedBody: post.body });
    }
    if (!initialize) {
      return errorResponse(400, ErrorCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required; send initialize first (or speak MCP 2026-07-28, which needs no session)");
    }
    const refused = batchRefusal(post, negotiateLegacyVersion((initialize as { params?: { protocolVersion?: unknown } }).params?.protocolVersion));
    if (refused) return refused;
    const full = this.#refuse(client);
    if (full) return full;

    const { WebStandardStreamableHTTPServerTransport } = await streamableTransport();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      maxRequestBodySize: this.options.maxBodyBytes,
      keepAliveMs: this.options.keepAliveMs,
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { kind: "streamable", client, session, transport, lastSeen: Date.now() });
        this.#log.debug("session opened", { transport: "streamable", session: id, open: this.#sessions.size });
      },
    });
    const session = new LegacySession(transport, this.options.dispatcher, client);
    transport.onclose = () => this.#forget(transport.sessionId);
    await session.start();
    try {
      return await transport.handleRequest(request, { parsedBody: post.body });
    } finally {
      // Anything but a successful initialize leaves a transport with no session:
      // nobody can reach it again, so free it now (also if the transport threw).
      if (!transport.sessionId) await session.close();
    }
  }

  /** Opens a legacy SSE session: the response is its event stream. */
  async openSse(request: Request, client = "unknown"): Promise<Response> {
    const full = this.#refuse(client);
    if (full) return full;
    const transport = new WebStandardSSEServerTransport({
      endpoint: this.options.messagePath,
      keepAliveMs: this.options.keepAliveMs,
      maxBodyBytes: this.options.maxBodyBytes,
    });
    const id = transport.sessionId;
    const session = new LegacySession(transport, this.options.dispatcher, client);
    transport.onclose = () => this.#forget(id);
    this.#sessions.set(id, { kind: "sse", client, session, transport, lastSeen: Date.now() });
    await session.start();
    this.#log.debug("session opened", { transport: "sse", session: id, open: this.#sessions.size });
    return transport.response(request.signal);
  }

  /**
   * A message for a legacy SSE session (`POST /message?sessionId=…`). The
   * session is looked up first: a client of an ended session learns that,
   * whatever it sent.
   */
  async postSse(request: Request, read: () => Promise<McpPost | Response>): Promise<Response> {
    const id = new URL(request.url).searchParams.get("sessionId");
    if (!id) return errorResponse(400, ErrorCode.ConnectionClosed, "Bad Request: missing sessionId query parameter; use the endpoint the /sse stream sent");
    const found = this.#sessions.get(id);
    if (!found || found.kind !== "sse") {
      return errorResponse(404, ErrorCode.SessionNotFound, "Session not found: it expired or the server restarted; open a new one at /sse");
    }
    this.#touch(id, found);
    const post = await read();
    if (post instanceof Response) return post;
    const initialize = post.messages.find((message) => "method" in message && message.method === "initialize");
    const version = initialize ? negotiateLegacyVersion((initialize as { params?: { protocolVersion?: unknown } }).params?.protocolVersion) : found.session.version;
    const refused = batchRefusal(post, version);
    if (refused) return refused;
    return (found.transport as WebStandardSSEServerTransport).handlePostMessage(request, { parsedBody: post.body });
  }

  /** Closes every session and stops the sweep (server shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.map(({ session }) => session.close()));
  }

  /** The Streamable HTTP session a request names, or the refusal (400 without an id, 404 for an unknown one). */
  #streamable(sessionId: string | null): Session & { transport: WebStandardStreamableHTTPServerTransport } | Response {
    if (sessionId === null) {
      return errorResponse(400, ErrorCode.ConnectionClosed, "Bad Request: Mcp-Session-Id header is required; send initialize by POST first");
    }
    const session = this.#sessions.get(sessionId);
    if (!session || session.kind !== "streamable") {
      // Spec: an unknown (or expired) session is 404, and the client starts a new one.
      return errorResponse(404, ErrorCode.SessionNotFound, "Session not found: it expired or the server restarted; initialize a new session");
    }
    this.#touch(sessionId, session);
    return session as Session & { transport: WebStandardStreamableHTTPServerTransport };
  }

  /** Marks a session used now: it moves to the end of the map, the most recently used. */
  #touch(id: string, session: Session): void {
    session.lastSeen = Date.now();
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
  }

  /**
   * Makes room for a new session of `client`: the refusal when the client
   * holds its cap (429), or when the table is full of busy sessions (503);
   * otherwise closes the least recently used idle session if the table is full.
   */
  #refuse(client: string): Response | undefined {
    const perClient = this.options.maxSessionsPerClient;
    if (perClient !== undefined) {
      let held = 0;
      for (const session of this.#sessions.values()) if (session.client === client) held++;
      if (held >= perClient) {
        this.#logRefusal({ reason: "per-client cap", limit: perClient });
        return errorResponse(429, ErrorCode.ConnectionClosed, `Too many open sessions from this client (limit ${perClient}); close some or wait for them to expire`, {
          headers: { "Retry-After": "30" },
        });
      }
    }
    if (this.#sessions.size < this.options.maxSessions) return undefined;
    for (const [id, entry] of this.#sessions) {
      // A session answering a request is in use, however long ago it began.
      if (entry.session.pending > 0) continue;
      this.#sessions.delete(id);
      void entry.session.close().catch(() => {});
      this.#logEviction({ max: this.options.maxSessions, idleSeconds: Math.round((Date.now() - entry.lastSeen) / 1000) });
      return undefined;
    }
    this.#logRefusal({ reason: "every session busy", max: this.options.maxSessions });
    return errorResponse(503, ErrorCode.ConnectionClosed, `Too many open sessions, all busy (limit ${this.options.maxSessions}); try again in a moment`, { headers: { "Retry-After": "5" } });
  }

  #forget(id: string | undefined): void {
    if (id && this.#sessions.delete(id)) this.#log.debug("session closed", { session: id, open: this.#sessions.size });
  }

  #sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [id, entry] of this.#sessions) {
      // A legacy SSE session lives as long as its stream: it ends with it.
      if (entry.kind === "sse" || entry.lastSeen >= cutoff) continue;
      this.#sessions.delete(id);
      this.#log.debug("session expired", { transport: entry.kind, session: id });
      void entry.session.close().catch(() => {});
    }
  }
}

/**
 * The one request of a session POST that needs nothing of the SDK's
 * transport: a single request (no batch, no notification) other than
 * `initialize`, on an initialized session. (Its version header, if any, is
 * a legacy one: the boundary sends any other to the modern checks.)
 * Everything else (`initialize`, batches, notifications) keeps the
 * transport's own handling and refusals.
 *
 * Why: the transport parses every message again with zod, writes the
 * answer with a plain `JSON.stringify` (a page three times over, see
 * answer-json.ts) and builds a stream per request; on this path those were
 * half the cost of a session's `tools/call`. No answer of this server
 * sends anything on the request's stream before its result, so the result
 * is the whole stream.
 */
function answeredDirectly(post: McpPost, session: LegacySession): JsonRpcRequest | undefined {
  if (post.batch || !session.initialized) return undefined;
  const message = post.messages[0]!;
  if (messageKind(message) !== "request" || (message as JsonRpcRequest).method === "initialize") return undefined;
  return message as JsonRpcRequest;
}

/**
 * A request's answer as the SDK's transport frames it: an event stream of
 * one `message` event, with its headers. Written as one body, so Bun sends
 * it with a length and the connection is free for the next request.
 */
function sseAnswer(answer: JsonRpcResult | JsonRpcError, sessionId: string): Response {
  return new Response(messageEvent(answerJson(answer)), {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no", "mcp-session-id": sessionId },
  });
}

const OPENING_COMMENT = new TextEncoder().encode(": stream open\n\n");

/**
 * Starts an event stream with an SSE comment, which clients ignore.
 *
 * Bun sends a streamed response's header block only together with its first
 * body chunk (it must pick Content-Length or chunked first). The SDK's
 * standalone GET stream writes nothing until its first keep-alive, 15 s
 * later, so without this a client (or a proxy with a header timeout) waits
 * that long to learn the stream is open. The legacy /sse stream does not need
 * it: its first event, `endpoint`, is written at once.
 */
function withHeadersNow(response: Response): Response {
  const body = response.body;
  if (response.status !== 200 || !body || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) return response;
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(OPENING_COMMENT);
    },
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    // The client went away: let the transport forget the stream.
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}

let sdkTransport: Promise<typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")> | undefined;

/**
 * The SDK's Streamable HTTP transport, loaded when the first legacy session
 * opens: with zod under it, it is the largest module graph of the server,
 * and clients of MCP 2026-07-28 (no sessions) never need it.
 */
function streamableTransport(): Promise<typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")> {
  sdkTransport ??= import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js");
  return sdkTransport;
}
