import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";
import { jsonRpcError } from "./sessions.ts";

/**
 * Streamable HTTP without sessions (`MCP_STATELESS=true`), so any replica
 * behind a load balancer can answer any request.
 *
 * The usual stateless pattern builds an SDK server and transport for every
 * request, which costs more than the search itself. Here one SDK `Server` is
 * connected once to an in-process transport; each POST's messages are handed
 * to it and its answers returned as JSON. Request ids are renamed on the way
 * in, so two clients using the same id at the same time cannot mix answers.
 */
export class StatelessEndpoint {
  readonly #transport = new RequestResponseTransport();
  readonly #ready: Promise<void>;

  constructor(server: Server) {
    this.#ready = server.connect(this.#transport);
  }

  /** Answers one HTTP request to the MCP endpoint. */
  async handle(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return jsonRpcError(405, -32000, "Method not allowed: this server is stateless (MCP_STATELESS); send JSON-RPC by POST", { Allow: "POST" });
    }
    const accept = request.headers.get("accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return jsonRpcError(406, -32000, "Not Acceptable: Accept must list application/json and text/event-stream");
    }
    if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      return jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    }
    const version = request.headers.get("mcp-protocol-version");
    if (version !== null && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return jsonRpcError(400, -32000, `Bad Request: unsupported protocol version ${version.slice(0, 40)} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return jsonRpcError(400, -32700, "Parse error: the body is not valid JSON");
    }
    const batch = Array.isArray(body);
    const items: unknown[] = batch ? (body as unknown[]) : [body];
    if (items.length === 0) return jsonRpcError(400, -32600, "Invalid Request: empty batch");
    // Batches were removed in 2025-06-18; a client that says it speaks a
    // later version must not send one.
    if (batch && version !== null && version >= "2025-06-18") {
      return jsonRpcError(400, -32600, `Invalid Request: JSON-RPC batches are not supported in protocol version ${version}`);
    }
    const messages: JSONRPCMessage[] = [];
    for (const item of items) {
      const parsed = JSONRPCMessageSchema.safeParse(item);
      if (!parsed.success) return jsonRpcError(400, -32600, "Invalid Request: not a JSON-RPC 2.0 message");
      messages.push(parsed.data);
    }

    await this.#ready;
    const answers = (await Promise.all(messages.map((message) => this.#transport.dispatch(message)))).filter(
      (answer): answer is JSONRPCMessage => answer !== undefined,
    );
    // Only notifications or responses: accepted, nothing to say (spec: 202).
    if (answers.length === 0) return new Response(null, { status: 202 });
    return Response.json(batch ? answers : answers[0]);
  }
}

/** A transport whose "connection" is a call: a request goes in, its response comes out. */
class RequestResponseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #pending = new Map<string | number, { originalId: string | number; resolve: (message: JSONRPCMessage) => void }>();
  #nextId = 1;

  async start(): Promise<void> {}
  async close(): Promise<void> {
    this.onclose?.();
  }

  /** The server's answers: routed back to the request waiting for them. Notifications have no one to go to. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (!isJSONRPCResultResponse(message) && !isJSONRPCErrorResponse(message)) return;
    const id = message.id;
    if (id === undefined) return;
    const waiting = this.#pending.get(id);
    if (!waiting) return;
    this.#pending.delete(id);
    waiting.resolve({ ...message, id: waiting.originalId } as JSONRPCMessage);
  }

  /** Hands one message to the server; resolves with its response (requests) or at once (anything else). */
  dispatch(message: JSONRPCMessage): Promise<JSONRPCMessage | undefined> {
    if (!isJSONRPCRequest(message)) {
      this.onmessage?.(message);
      return Promise.resolve(undefined);
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { originalId: message.id, resolve });
      this.onmessage?.({ ...message, id });
    });
  }
}
