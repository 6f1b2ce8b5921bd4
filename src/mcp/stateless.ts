import { answerResponse } from "./answer-json.ts";
import type { McpDispatcher } from "./dispatcher.ts";
import { batchRefusal, META_PROTOCOL_VERSION, type McpPost } from "./http-request.ts";
import { ErrorCode, errorResponse, messageKind, type JsonRpcRequest } from "./jsonrpc.ts";
import type { Subscriptions } from "./subscriptions.ts";
import { DEFAULT_LEGACY_VERSION, LEGACY_VERSIONS, MODERN_VERSIONS, negotiateLegacyVersion } from "./versions.ts";

/** The `_meta` key of the client's capabilities, required on every modern request. */
export const META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";

/** Methods whose target a modern POST names in `Mcp-Name` (MCP 2026-07-28, request metadata headers). */
const NAMED: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };

export interface StatelessOptions {
  dispatcher: McpDispatcher;
  /** Where `subscriptions/listen` streams are kept. */
  subscriptions: Subscriptions;
}

/**
 * Requests that stand alone, so that any replica can answer any of them:
 * every MCP 2026-07-28 request, and with `MCP_STATELESS` the legacy ones
 * too (an `initialize` is then answered without a session).
 *
 * The modern checks run in the order the spec's conformance suite pins:
 * the version header (-32020), the required `_meta` fields (-32602), the
 * header against `_meta` (-32020), `Mcp-Method` and `Mcp-Name` against the
 * body (-32020), the version itself (-32022), the method (404 -32601). Each
 * refusal is a 400 (404 for the method) carrying the request's id.
 */
export class StatelessEndpoint {
  readonly #dispatcher: McpDispatcher;
  readonly #subscriptions: Subscriptions;

  constructor(options: StatelessOptions) {
    this.#dispatcher = options.dispatcher;
    this.#subscriptions = options.subscriptions;
  }

  /**
   * A modern POST, already read by the boundary.
   *
   * @param caller the client's address (for the stream cap) and a way to lift
   *   the connection's idle timeout, for a request answered with a stream.
   */
  async handleModern(request: Request, post: McpPost, caller: { client: string; keepOpen: () => void }): Promise<Response> {
    if (post.batch) return errorResponse(400, ErrorCode.InvalidRequest, "Invalid Request: MCP 2026-07-28 has no JSON-RPC batches; send one message per request", { id: undefined });
    const message = post.messages[0]!;
    const kind = messageKind(message);
    // No client notification is defined over HTTP in this revision; accept, as for any notification.
    if (kind === "notification") return new Response(null, { status: 202 });
    if (kind !== "request") return errorResponse(400, ErrorCode.InvalidRequest, "Invalid Request: a client sends requests and notifications, not responses", { id: undefined });
    const rpc = message as JsonRpcRequest;
    const refusal = this.#check(request, rpc);
    if (refusal) return refusal;
    const version = metaOf(rpc)[META_PROTOCOL_VERSION] as string;
    if (rpc.method === "subscriptions/listen") return this.#subscriptions.listen(rpc, { ...caller, signal: request.signal });
    return answerResponse(await this.#dispatcher.dispatch(rpc, { version, modern: true, canNotify: true }));
  }

  /**
   * A legacy POST when the server runs without sessions (`MCP_STATELESS`):
   * each request answered on its own, under the revision its header (or its
   * `initialize`) names.
   */
  async handleLegacy(request: Request, post: McpPost): Promise<Response> {
    const header = request.headers.get("mcp-protocol-version");
    if (header !== null && !LEGACY_VERSIONS.includes(header)) {
      return errorResponse(400, ErrorCode.ConnectionClosed, `Bad Request: unsupported protocol version ${header.slice(0, 40)} (supported: ${[...MODERN_VERSIONS, ...LEGACY_VERSIONS].join(", ")})`);
    }
    const initialize = post.messages.find((message) => "method" in message && message.method === "initialize");
    const version = header ?? (initialize ? negotiateLegacyVersion((initialize as JsonRpcRequest).params?.protocolVersion) : DEFAULT_LEGACY_VERSION);
    const refused = batchRefusal(post, version);
    if (refused) return refused;
    // In the order of the requests; notifications and responses get no answer.
    const answers = (
      await Promise.all(
        post.messages.map((message) =>
          messageKind(message) === "request" ? this.#dispatcher.dispatch(message as JsonRpcRequest, { version, modern: false, canNotify: false }) : undefined,
        ),
      )
    ).filter((answer) => answer !== undefined);
    // Only notifications or responses: accepted, nothing to say (spec: 202).
    if (answers.length === 0) return new Response(null, { status: 202 });
    return answerResponse(post.batch ? answers : answers[0]!);
  }

  /** The modern checks, in the pinned order; the refusal, if any. */
  #check(request: Request, rpc: JsonRpcRequest): Response | undefined {
    const id = rpc.id;
    const refuse = (status: number, code: number, message: string, data?: unknown) => errorResponse(status, code, message, { id, data });
    const headerVersion = headerValue(request, "mcp-protocol-version");
    if (headerVersion === undefined) return refuse(400, ErrorCode.HeaderMismatch, "Header mismatch: the MCP-Protocol-Version header is required");
    const meta = metaOf(rpc);
    const version = meta[META_PROTOCOL_VERSION];
    const capabilities = meta[META_CLIENT_CAPABILITIES];
    if (typeof version !== "string" || typeof capabilities !== "object" || capabilities === null || Array.isArray(capabilities)) {
      return refuse(
        400,
        ErrorCode.InvalidParams,
        `Invalid params: every request needs params._meta with "${META_PROTOCOL_VERSION}" (a string) and "${META_CLIENT_CAPABILITIES}" (an object)`,
      );
    }
    if (headerVersion !== version) {
      const said = headerVersion === null ? "a malformed value" : headerVersion.slice(0, 40);
      return refuse(400, ErrorCode.HeaderMismatch, `Header mismatch: MCP-Protocol-Version says ${said}, params._meta says ${version.slice(0, 40)}`);
    }
    const method = headerValue(request, "mcp-method");
    if (method !== rpc.method) {
      return refuse(400, ErrorCode.HeaderMismatch, method === undefined ? "Header mismatch: the Mcp-Method header is required" : "Header mismatch: Mcp-Method does not match the method in the body");
    }
    const field = NAMED[rpc.method];
    if (field !== undefined) {
      const name = headerValue(request, "mcp-name");
      if (name === undefined) return refuse(400, ErrorCode.HeaderMismatch, `Header mismatch: ${rpc.method} needs the Mcp-Name header`);
      if (name !== rpc.params?.[field]) return refuse(400, ErrorCode.HeaderMismatch, `Header mismatch: Mcp-Name does not match params.${field} in the body`);
    }
    if (!MODERN_VERSIONS.includes(version)) {
      return refuse(400, ErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version ${version.slice(0, 40)}`, { supported: MODERN_VERSIONS, requested: version });
    }
    if (!this.#dispatcher.knows(rpc.method, true)) {
      return refuse(404, ErrorCode.MethodNotFound, `Method not found: ${rpc.method.slice(0, 100)} (not part of MCP ${version})`);
    }
    return undefined;
  }
}

function metaOf(rpc: JsonRpcRequest): Record<string, unknown> {
  const meta = rpc.params?._meta;
  return typeof meta === "object" && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
}

/** Values outside visible ASCII must come base64-encoded; anything else there is malformed. */
const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A request metadata header as the client meant it: surrounding whitespace
 * trimmed (RFC 9110 field values), `=?base64?…?=` decoded (MCP 2026-07-28:
 * how non-ASCII names travel).
 *
 * @returns the value; `undefined` when absent; `null` when malformed (other
 *   characters, a broken encoding), which matches no body value.
 */
export function headerValue(request: Request, name: string): string | null | undefined {
  const raw = request.headers.get(name);
  if (raw === null) return undefined;
  const value = raw.trim();
  if (!VISIBLE_ASCII.test(value)) return null;
  const encoded = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(value);
  if (!encoded) return value;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(encoded[1]!, "base64"));
  } catch {
    return null;
  }
}
