/**
 * The MCP HTTP boundary: the one place that reads and checks the POST body
 * of every MCP endpoint (`/mcp` in both eras, the legacy `/message`), in the
 * order the SDK transports check it, so every endpoint refuses the same
 * input the same way:
 *
 * 1. `Accept` (406), where the endpoint answers with JSON or a stream;
 * 2. `Content-Type` (415);
 * 3. the body, as UTF-8 (its size is limited once, before this, by the
 *    route's `hono/body-limit`);
 * 4. JSON (-32700), then the JSON-RPC shape of each message (-32600);
 * 5. the era: modern (2026-07-28, versioned per request) or legacy.
 *
 * Batch rules depend on the revision the request is served under, which a
 * legacy session knows and the boundary does not: {@link batchRefusal}.
 */
import { ErrorCode, errorResponse, messageKind, type JsonRpcMessage } from "./jsonrpc.ts";
import { allowsBatches, isModernVersion } from "./versions.ts";

/** Most messages in one legacy JSON-RPC batch. */
export const MAX_BATCH_SIZE = 100;

/** The `_meta` key that makes a request modern (MCP 2026-07-28, per-request protocol fields). */
export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";

export interface McpPost {
  /** The body as parsed: one message or a batch, for a transport that wants it as it came. */
  body: unknown;
  /** The messages, each checked to be a JSON-RPC request, notification or response. */
  messages: JsonRpcMessage[];
  batch: boolean;
  /**
   * Modern when a message carries a protocol version in `_meta`, or the
   * `MCP-Protocol-Version` header names a revision that is not a legacy one
   * (such a request then fails the modern checks, with a modern error the
   * client understands). Legacy otherwise: `initialize`, session traffic.
   */
  era: "modern" | "legacy";
}

export interface ReadOptions {
  /** `/mcp` needs both; the legacy `/message` answers 202 and needs neither. */
  requireAccept: boolean;
}

/**
 * Reads and checks one MCP POST.
 *
 * @returns the messages, or the refusal to send (a JSON-RPC error body, id
 *   null: the request's id is not known yet).
 */
export async function readMcpPost(request: Request, options: ReadOptions): Promise<McpPost | Response> {
  if (options.requireAccept && !acceptsJsonAndStream(request.headers.get("accept"))) {
    return errorResponse(406, ErrorCode.ConnectionClosed, "Not Acceptable: Accept must list application/json and text/event-stream");
  }
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return errorResponse(415, ErrorCode.ConnectionClosed, "Unsupported Media Type: Content-Type must be application/json");
  }
  let text: string;
  try {
    // fatal: JSON must be UTF-8 (RFC 8259); substituting U+FFFD would hand
    // the server text the client never sent.
    text = new TextDecoder("utf-8", { fatal: true }).decode(await request.arrayBuffer());
  } catch (error) {
    const reason = error instanceof TypeError && /decode|utf-?8|encoded/i.test(error.message) ? "request body is not valid UTF-8" : "request body could not be read";
    return errorResponse(400, ErrorCode.ParseError, `Parse error: ${reason}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return errorResponse(400, ErrorCode.ParseError, "Parse error: Invalid JSON");
  }
  const batch = Array.isArray(body);
  const items: unknown[] = batch ? (body as unknown[]) : [body];
  if (items.length === 0) return errorResponse(400, ErrorCode.InvalidRequest, "Invalid Request: empty JSON-RPC batch");
  if (items.length > MAX_BATCH_SIZE) return errorResponse(400, ErrorCode.InvalidRequest, `Invalid Request: a batch must not exceed ${MAX_BATCH_SIZE} messages`);
  for (const item of items) {
    if (messageKind(item) === "invalid") return errorResponse(400, ErrorCode.InvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message");
  }
  const messages = items as JsonRpcMessage[];
  const header = request.headers.get("mcp-protocol-version");
  const modern = messages.some(hasModernMeta) || (header !== null && isModernVersion(header.trim()));
  return { body, messages, batch, era: modern ? "modern" : "legacy" };
}

/**
 * The refusal of a batch at this revision, if it is one: batches were
 * removed in 2025-06-18 (and never existed in 2026-07-28).
 */
export function batchRefusal(post: McpPost, version: string): Response | undefined {
  if (!post.batch || allowsBatches(version)) return undefined;
  return errorResponse(400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${version}; send one message per request`);
}

/** Whether a message's params carry the modern per-request version key (present at all: a wrong value is the modern checks' to report). */
function hasModernMeta(message: JsonRpcMessage): boolean {
  const meta = "params" in message ? (message.params as { _meta?: unknown } | undefined)?._meta : undefined;
  return typeof meta === "object" && meta !== null && META_PROTOCOL_VERSION in meta;
}

/**
 * Whether a `Content-Type` value's media type (the part before any `;`,
 * case-insensitively) is exactly `application/json`. Parameters such as
 * `charset` are ignored; `application/jsonx` or a comma (joined duplicate
 * headers) is no match.
 */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  return (header.split(";", 1)[0] ?? "").trim().toLowerCase() === "application/json";
}

/**
 * Whether `Accept` lists both media types a Streamable HTTP answer may have,
 * by name, as the spec requires of clients (and as the SDK's session
 * transport checks: a wildcard passed here would be refused there).
 */
export function acceptsJsonAndStream(header: string | null): boolean {
  if (header === null) return false;
  // What clients send, as they send it: no need to take it apart.
  if (header === "application/json, text/event-stream" || header === "text/event-stream, application/json") return true;
  const types = header.split(",").map((part) => (part.split(";", 1)[0] ?? "").trim().toLowerCase());
  return types.includes("application/json") && types.includes("text/event-stream");
}
