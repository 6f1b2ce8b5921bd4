/**
 * JSON-RPC 2.0 as MCP uses it: the message shapes, the error codes of every
 * revision, and the one place where error bodies and error responses are
 * built. Every refusal the server sends, from the host guard to a tool call,
 * goes through {@link errorResponse} or {@link errorMessage}, so they all
 * have the same shape and clients can show the reason.
 *
 * Checks here are structural (a few `typeof`s), not schema validation: they
 * run once per message at the boundary, and they are the only check a
 * message gets before it is dispatched.
 */

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcResult {
  jsonrpc: "2.0";
  id: RequestId;
  result: Record<string, unknown>;
}

export interface JsonRpcError {
  jsonrpc: "2.0";
  /** Absent when the request's id is unknown (the body could not be read). */
  id?: RequestId | null;
  error: { code: number; message: string; data?: unknown };
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResult | JsonRpcError;

/** JSON-RPC and MCP error codes, with the revision that defines each where it matters. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Transport-level refusals (limits, sessions, bad headers) before 2026-07-28: the SDK's convention. */
  ConnectionClosed: -32000,
  /** An unknown or expired session (2025 Streamable HTTP, legacy SSE). */
  SessionNotFound: -32001,
  /** A missing resource up to 2025-11-25; from 2026-07-28 it is InvalidParams with `data.uri`. */
  ResourceNotFound: -32002,
  /** 2026-07-28: an `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header missing or not matching the body. */
  HeaderMismatch: -32020,
  /** 2026-07-28: the request needs a client capability it did not declare. */
  MissingRequiredClientCapability: -32021,
  /** 2026-07-28: `data: { supported, requested }`. */
  UnsupportedProtocolVersion: -32022,
} as const;

/**
 * A protocol error a handler throws: it becomes a JSON-RPC error response
 * with this code, message and data. Its message is the client's to show, and
 * carries no `MCP error -32602:` prefix of its own (SDK clients add one).
 */
export class McpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "McpError";
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is RequestId => typeof value === "string" || (typeof value === "number" && Number.isFinite(value));

/** What a parsed JSON value is, as a JSON-RPC 2.0 message. */
export type MessageKind = "request" | "notification" | "response" | "invalid";

/**
 * Classifies one message. A request has a string or number id and a method;
 * a notification a method and no id; a response an id and exactly one of
 * result and error. `params`, when present, must be an object (MCP never uses
 * by-position params).
 */
export function messageKind(value: unknown): MessageKind {
  if (!isObject(value) || value.jsonrpc !== "2.0") return "invalid";
  if (typeof value.method === "string") {
    if (value.params !== undefined && !isObject(value.params)) return "invalid";
    if (!("id" in value)) return "notification";
    return isId(value.id) ? "request" : "invalid";
  }
  if (!isId(value.id) && value.id !== null) return "invalid";
  const hasResult = "result" in value;
  const hasError = isObject(value.error) && typeof value.error.code === "number" && typeof value.error.message === "string";
  return hasResult !== hasError ? "response" : "invalid";
}

/**
 * A JSON-RPC error message (not yet an HTTP response). An unknown id is
 * `null` in JSON-RPC 2.0 and up to MCP 2025-11-25; MCP 2026-07-28 omits it
 * instead (its schema has no null id): pass `undefined` for that.
 */
export function errorMessage(id: RequestId | null | undefined, code: number, message: string, data?: unknown): JsonRpcError {
  const error = data === undefined ? { code, message } : { code, message, data };
  return id === undefined ? { jsonrpc: "2.0", error } : { jsonrpc: "2.0", id, error };
}

/** The error message a handler's exception becomes: its own code for an {@link McpError}, -32603 otherwise. */
export function errorFromException(id: RequestId, error: unknown): JsonRpcError {
  if (error instanceof McpError) return errorMessage(id, error.code, error.message, error.data);
  return errorMessage(id, ErrorCode.InternalError, "Internal error");
}

export interface ErrorResponseOptions {
  /** The request's id; `null` (unknown, the JSON-RPC 2.0 default) when not given; `undefined` omits it (2026-07-28). */
  id?: RequestId | null;
  data?: unknown;
  headers?: Record<string, string>;
}

/**
 * An HTTP response whose body is a JSON-RPC error: the shape every refusal
 * of this server has, on every route (MCP 2025-11-25 and 2026-07-28 both let
 * an HTTP error carry one, with no id when it is unknown).
 *
 * @example
 * return errorResponse(413, ErrorCode.InvalidRequest, "Request body is over the 1048576-byte limit");
 */
export function errorResponse(status: number, code: number, message: string, options: ErrorResponseOptions = {}): Response {
  const id = "id" in options ? options.id : null;
  return Response.json(errorMessage(id, code, message, options.data), { status, headers: options.headers });
}
