import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Logger } from "../log/index.ts";
import { WebStandardSSEServerTransport } from "./sse-transport.ts";

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
      return (session.transport as WebStandardStreamableHTTPServerTransport).handleRequest(request);
    }
    if (request.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required; send initialize by POST first");
    }
    const full = this.#refuse(client);
    if (full) return full;

    const server = this.options.newServer();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      maxRequestBodySize: this.options.maxBodyBytes,
      keepAliveMs: this.options.keepAliveMs,
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { kind: "streamable", client, server, transport, lastSeen: Date.now() });
        this.#log.debug("session opened", { transport: "streamable", session: id, open: this.#sessions.size });
      },
    });
    transport.onclose = () => this.#forget(transport.sessionId);
    await server.connect(transport);
    const response = await transport.handleRequest(request);
    // Anything but a successful initialize leaves a transport with no session:
    // nobody can reach it again, so free it now.
    if (!transport.sessionId) await server.close();
    return response;
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
    if (!id) return new Response("Missing sessionId query parameter\n", { status: 400 });
    const session = this.#sessions.get(id);
    if (!session || session.kind !== "sse") {
      return new Response("Session not found: it expired or the server restarted; open a new one at /sse\n", { status: 404 });
    }
    session.lastSeen = Date.now();
    return (session.transport as WebStandardSSEServerTransport).handlePostMessage(request);
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
