import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { MAX_BATCH_SIZE } from "@modelcontextprotocol/sdk/server/requestBody.js";
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  isInitializeRequest,
  JSONRPCMessageSchema,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log/index.ts";
import { readBody, WebStandardSSEServerTransport } from "./sse-transport.ts";

export interface SessionOptions {
  /** Makes the MCP server of one session. */
  newServer: () => Server;
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
  /** Address of the client that opened it. */
  client: string;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport | WebStandardSSEServerTransport;
  lastSeen: number;
  /** Protocol version agreed at initialize; unknown until then (legacy SSE). */
  protocolVersion?: string;
}

/** JSON-RPC batches were removed from MCP in this revision (they exist in 2025-03-26). */
export const FIRST_VERSION_WITHOUT_BATCHES = "2025-06-18";

/**
 * The protocol version the SDK `Server` answers an initialize request with:
 * the requested one if it supports it, else its latest (spec: lifecycle,
 * version negotiation). The SDK server does not remember it, so we do.
 */
export function negotiatedVersion(requested: unknown): string {
  return typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/** A POST body, read and checked here before a transport sees it. */
interface ReadMessages {
  body: unknown;
  /** Set when the body holds an initialize request: the version it will agree. */
  initializeVersion?: string;
}

/** JSON-RPC error body for errors answered before any transport sees the request. */
export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

/**
 * The open MCP sessions of both transports: Streamable HTTP (`/mcp`, spec
 * 2025-11-25) and the legacy HTTP+SSE transport (`/sse` + `/message`, spec
 * 2024-11-05). Each session has its own SDK server and transport.
 *
 * Memory stays bounded: at most `maxSessions` are open (new ones get 503 with
 * `Retry-After`), and idle ones are closed by a sweep.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: Timer | undefined;
  readonly #log: Logger;

  constructor(private readonly options: SessionOptions) {
    this.#log = options.logger;
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

  /** Handles any request to the Streamable HTTP endpoint. `client` is the caller's address. */
  async handleStreamable(request: Request, client = "unknown"): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      const session = this.#sessions.get(sessionId);
      if (!session || session.kind !== "streamable") {
        // Spec: an unknown (or expired) session is 404, and the client starts a new one.
        return jsonRpcError(404, -32001, "Session not found: it expired or the server restarted; initialize a new session");
      }
      session.lastSeen = Date.now();
      const transport = session.transport as WebStandardStreamableHTTPServerTransport;
      if (request.method === "GET") return withHeadersNow(await transport.handleRequest(request));
      // Anything the transport refuses before reading the body (405, 406, 415) stays its answer.
      if (!isReadablePost(request)) return transport.handleRequest(request);
      const read = await this.#readMessages(request, session.protocolVersion);
      if (read instanceof Response) return read;
      return transport.handleRequest(request, { parsedBody: read.body });
    }
    if (request.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required; send initialize by POST first");
    }
    const full = this.#refuse(client);
    if (full) return full;
    let read: ReadMessages | undefined;
    if (isReadablePost(request)) {
      const result = await this.#readMessages(request, undefined);
      if (result instanceof Response) return result;
      read = result;
    }

    const server = this.options.newServer();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      maxRequestBodySize: this.options.maxBodyBytes,
      keepAliveMs: this.options.keepAliveMs,
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { kind: "streamable", client, server, transport, lastSeen: Date.now(), protocolVersion: read?.initializeVersion });
        this.#log.debug("session opened", { transport: "streamable", session: id, open: this.#sessions.size });
      },
    });
    transport.onclose = () => this.#forget(transport.sessionId);
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, read ? { parsedBody: read.body } : undefined);
    } finally {
      // Anything but a successful initialize leaves a transport with no session:
      // nobody can reach it again, so free it now (also if the transport threw).
      if (!transport.sessionId) await server.close();
    }
  }

  /** Opens a legacy SSE session: the response is its event stream. */
  async openSse(request: Request, client = "unknown"): Promise<Response> {
    const full = this.#refuse(client);
    if (full) return full;
    const server = this.options.newServer();
    const transport = new WebStandardSSEServerTransport({
      endpoint: this.options.messagePath,
      keepAliveMs: this.options.keepAliveMs,
      maxBodyBytes: this.options.maxBodyBytes,
    });
    const id = transport.sessionId;
    transport.onclose = () => this.#forget(id);
    this.#sessions.set(id, { kind: "sse", client, server, transport, lastSeen: Date.now() });
    await server.connect(transport);
    this.#log.debug("session opened", { transport: "sse", session: id, open: this.#sessions.size });
    return transport.response(request.signal);
  }

  /** A message for a legacy SSE session (`POST /message?sessionId=…`). */
  async postSse(request: Request): Promise<Response> {
    const id = new URL(request.url).searchParams.get("sessionId");
    if (!id) return jsonRpcError(400, -32000, "Bad Request: missing sessionId query parameter; use the endpoint the /sse stream sent");
    const session = this.#sessions.get(id);
    if (!session || session.kind !== "sse") {
      return jsonRpcError(404, -32001, "Session not found: it expired or the server restarted; open a new one at /sse");
    }
    session.lastSeen = Date.now();
    const transport = session.transport as WebStandardSSEServerTransport;
    // A wrong media type stays the transport's answer (415).
    if (!isJsonContentType(request.headers.get("content-type"))) return transport.handlePostMessage(request);
    const read = await this.#readMessages(request, session.protocolVersion);
    if (read instanceof Response) return read;
    if (read.initializeVersion) session.protocolVersion = read.initializeVersion;
    return transport.handlePostMessage(request, { parsedBody: read.body });
  }

  /** Closes every session and stops the sweep (server shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.map((session) => session.server.close()));
  }

  /** A refusal when a new session would pass the server's cap (503) or the client's (429). */
  #refuse(client: string): Response | undefined {
    if (this.#sessions.size >= this.options.maxSessions) {
      this.#log.warn("session limit reached", { max: this.options.maxSessions });
      return jsonRpcError(503, -32000, `Too many open sessions (limit ${this.options.maxSessions}); try again later`, { "Retry-After": "30" });
    }
    const perClient = this.options.maxSessionsPerClient;
    if (perClient !== undefined) {
      let held = 0;
      for (const session of this.#sessions.values()) if (session.client === client) held++;
      if (held >= perClient) {
        return jsonRpcError(429, -32000, `Too many open sessions from this address (limit ${perClient}); close some or wait for them to expire`, { "Retry-After": "30" });
      }
    }
    return undefined;
  }

  /**
   * Reads and parses a POST body for either transport, before the transport
   * sees it, to apply what the SDK's transport does not know: the session's
   * protocol version. The SDK's `WebStandardStreamableHTTPServerTransport`
   * (1.32) accepts JSON-RPC batches whatever version was negotiated, but
   * batches were removed in 2025-06-18; a session on that version or later
   * gets -32600 for one, while a 2025-03-26 (or older) session may still
   * batch. Also answers valid JSON that is not JSON-RPC with -32600 Invalid
   * Request (the SDK says -32700 Parse error, which JSON-RPC 2.0 reserves
   * for unparsable text).
   *
   * @param sessionVersion the version the session agreed; `undefined` before initialize.
   */
  async #readMessages(request: Request, sessionVersion: string | undefined): Promise<ReadMessages | Response> {
    const max = this.options.maxBodyBytes;
    const body = await readBody(request, max);
    if (body.kind === "too-large") return jsonRpcError(413, -32000, `Payload Too Large: request body must not exceed ${max} bytes`);
    if (body.kind === "unreadable") return jsonRpcError(400, -32700, `Parse error: ${body.reason}`);
    let json: unknown;
    try {
      json = JSON.parse(body.text);
    } catch {
      return jsonRpcError(400, -32700, "Parse error: Invalid JSON");
    }
    const batch = Array.isArray(json);
    const items: unknown[] = batch ? (json as unknown[]) : [json];
    if (items.length === 0) return jsonRpcError(400, -32600, "Invalid Request: empty JSON-RPC batch");
    if (items.length > MAX_BATCH_SIZE) return jsonRpcError(400, -32600, `Invalid Request: a batch must not exceed ${MAX_BATCH_SIZE} messages`);
    for (const item of items) {
      if (!JSONRPCMessageSchema.safeParse(item).success) return jsonRpcError(400, -32600, "Invalid Request: not a JSON-RPC 2.0 message");
    }
    const initialize = items.find(isInitializeRequest);
    const initializeVersion = initialize ? negotiatedVersion(initialize.params.protocolVersion) : undefined;
    const version = initializeVersion ?? sessionVersion ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    if (batch && version >= FIRST_VERSION_WITHOUT_BATCHES) {
      return jsonRpcError(400, -32600, `Invalid Request: JSON-RPC batches are not supported in protocol version ${version}; send one message per request`);
    }
    return { body: json, initializeVersion };
  }

  #forget(id: string | undefined): void {
    if (id && this.#sessions.delete(id)) this.#log.debug("session closed", { session: id, open: this.#sessions.size });
  }

  #sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [id, session] of this.#sessions) {
      // A legacy SSE session lives as long as its stream: it ends with it.
      if (session.kind === "sse" || session.lastSeen >= cutoff) continue;
      this.#sessions.delete(id);
      this.#log.debug("session expired", { transport: session.kind, session: id });
      void session.server.close().catch(() => {});
    }
  }
}

/**
 * A POST the Streamable HTTP transport would read the body of: it accepts
 * both response types (else 406) and sends JSON (else 415). Those refusals
 * stay the transport's own, checked in its order.
 */
function isReadablePost(request: Request): boolean {
  if (request.method !== "POST") return false;
  const accept = request.headers.get("accept") ?? "";
  return accept.includes("application/json") && accept.includes("text/event-stream") && isJsonContentType(request.headers.get("content-type"));
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
