import type { Library } from "../docs/library.ts";
import { jsonOf, withJson } from "./answer-json.ts";
import { ErrorCode, McpError, errorFromException, errorMessage, type JsonRpcError, type JsonRpcRequest, type JsonRpcResult } from "./jsonrpc.ts";
import { promptDefinitions, getPrompt } from "./prompts.ts";
import { listResources, readResource, resourceTemplates } from "./resources.ts";
import { runTool, toolDefinitions, TOOL_NAMES, unknownTool, type ToolDefinition, type ToolOutcome } from "./tools.ts";
import { MODERN_VERSIONS, negotiateLegacyVersion } from "./versions.ts";

/**
 * How long a tool call or resource read waits for the first index. The
 * server answers before the documentation is loaded, so a client connecting
 * at start-up does not wait for indexing; the calls that need it do.
 */
const READY_WAIT_MS = 10_000;

/** The `_meta` key of the server's identity on modern results. */
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

export interface DispatcherOptions {
  library: Library;
  /** `serverInfo.name`. */
  name: string;
  /** `serverInfo.version`: the server's release. */
  version: string;
  /**
   * How long a client may keep lists and pages (`ttlMs`, MCP 2026-07-28):
   * until the next check of the source for changes.
   */
  cacheTtlMs: number;
  /** `private` when a token guards the server: then no shared cache may keep its answers. */
  cacheScope: "public" | "private";
}

/** Under which revision a request is answered, and what its transport can do. */
export interface RequestContext {
  /** The revision: the request's own (modern) or its session's (legacy). */
  version: string;
  modern: boolean;
  /** The transport can deliver `notifications/resources/list_changed` later (a session's stream, a listen). */
  canNotify: boolean;
}

type Handler = (params: Record<string, unknown>, context: RequestContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Methods removed from the modern era, answered 404 -32601 there (and named so in the message). */
const LEGACY_ONLY = new Set(["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"]);

/** Results that carry caching hints in the modern era (MCP 2026-07-28, caching). */
const CACHEABLE = new Set(["server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

/**
 * Answers MCP requests, every revision, every transport: the one place that
 * knows what each method does and how its answer differs between revisions
 * (`resultType`, caching hints and the server's identity from 2026-07-28;
 * `outputSchema` and `structuredContent` from 2025-06-18; the code of a
 * missing resource). Transports only carry messages to it and back.
 *
 * Never throws: a request gets a result or a JSON-RPC error. Params are
 * checked here, structurally, before anything uses them: a malformed call is
 * -32602 with a plain message, never a schema dump.
 */
export class McpDispatcher {
  readonly serverInfo: { name: string; title: string; version: string };
  readonly instructions: string;
  readonly #library: Library;
  readonly #tools: ToolDefinition[];
  /** Results that never change while running, written as JSON once, by method and shape. */
  readonly #constants = new Map<string, Record<string, unknown>>();
  /** The 2026-07-28 fields added to results, as JSON members: for lists and reads, and for the rest. */
  readonly #modernExtras: { cacheable: Record<string, unknown>; other: Record<string, unknown>; cacheableJson: string; otherJson: string };
  readonly #prompts: ReturnType<typeof promptDefinitions>;
  readonly #handlers: Record<string, Handler>;

  constructor(options: DispatcherOptions) {
    this.#library = options.library;
    const title = options.library.title;
    this.serverInfo = { name: options.name, title, version: options.version };
    // Kept short: Claude truncates long instructions, and the tools describe themselves.
    this.instructions =
      `This server holds ${title}. Use the search tool with a question or keywords to find pages, ` +
      "then the fetch tool with a result's id to read a page in full. Pages are also resources docs://<id>.";
    this.#tools = toolDefinitions(title);
    this.#prompts = promptDefinitions(title);
    const other = { resultType: "complete", _meta: { [META_SERVER_INFO]: this.serverInfo } };
    const cacheable = { ...other, ttlMs: options.cacheTtlMs, cacheScope: options.cacheScope };
    this.#modernExtras = { cacheable, other, cacheableJson: JSON.stringify(cacheable).slice(1, -1), otherJson: JSON.stringify(other).slice(1, -1) };
    this.#handlers = {
      initialize: (params) => this.#initialize(params),
      ping: () => this.#constant("ping", () => ({})),
      "server/discover": (_, context) =>
        this.#constant(`discover:${context.canNotify}`, () => ({
          supportedVersions: MODERN_VERSIONS,
          capabilities: this.capabilities(context),
          instructions: this.instructions,
        })),
      "tools/list": (_, context) => this.#toolList(context.version),
      "tools/call": (params, context) => this.#callTool(params, context),
      "resources/list": async (params) => {
        await this.#library.whenReady(READY_WAIT_MS);
        return listResources(this.#library, params.cursor);
      },
      "resources/templates/list": () => this.#constant("templates", () => ({ resourceTemplates })),
      "resources/read": async (params, context) => {
        if (typeof params.uri !== "string") throw new McpError(ErrorCode.InvalidParams, "resources/read needs a uri (a string)");
        await this.#library.whenReady(READY_WAIT_MS);
        return readResource(this.#library, params.uri, context.modern ? ErrorCode.InvalidParams : ErrorCode.ResourceNotFound);
      },
      "prompts/list": () => this.#constant("prompts", () => ({ prompts: this.#prompts })),
      "prompts/get": (params) => getPrompt(this.#library.title, params.name, params.arguments),
    };
  }

  /** What this server offers; `listChanged` only where the transport can deliver it. */
  capabilities(context: Pick<RequestContext, "canNotify">): Record<string, unknown> {
    return { tools: {}, resources: context.canNotify ? { listChanged: true } : {}, prompts: {} };
  }

  /** Whether a method exists in a request's era (the modern endpoint answers others 404). */
  knows(method: string, modern: boolean): boolean {
    if (method === "subscriptions/listen") return modern;
    if (!(method in this.#handlers)) return false;
    if (modern) return !LEGACY_ONLY.has(method);
    return method !== "server/discover";
  }

  /** Answers one request. */
  async dispatch(request: JsonRpcRequest, context: RequestContext): Promise<JsonRpcResult | JsonRpcError> {
    const handler = this.knows(request.method, context.modern) ? this.#handlers[request.method] : undefined;
    if (!handler) return errorMessage(request.id, ErrorCode.MethodNotFound, `Method not found: ${request.method.slice(0, 100)}`);
    try {
      const result = await handler(request.params ?? {}, context);
      return { jsonrpc: "2.0", id: request.id, result: context.modern ? this.modernResult(request.method, result) : result };
    } catch (error) {
      return errorFromException(request.id, error);
    }
  }

  /**
   * Adds what every modern result carries: `resultType`, the server's
   * identity, and on lists and reads the caching hints.
   */
  modernResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
    const extras = this.#modernExtras;
    const cacheable = CACHEABLE.has(method);
    const decorated = { ...result, ...(cacheable ? extras.cacheable : extras.other) };
    const members = jsonOf(result);
    // A result whose JSON is written gets the same fields added to its text.
    return members === undefined ? decorated : withJson(decorated, [...members, cacheable ? extras.cacheableJson : extras.otherJson]);
  }

  /** A result that never changes while running, built and written as JSON once. */
  #constant(key: string, build: () => Record<string, unknown>): Record<string, unknown> {
    let result = this.#constants.get(key);
    if (!result) {
      const built = build();
      const json = JSON.stringify(built);
      result = withJson(built, json === "{}" ? [] : [json.slice(1, -1)]);
      this.#constants.set(key, result);
    }
    return result;
  }

  #initialize(params: Record<string, unknown>): Record<string, unknown> {
    if (typeof params.protocolVersion !== "string") throw new McpError(ErrorCode.InvalidParams, "initialize needs a protocolVersion (a string)");
    return {
      protocolVersion: negotiateLegacyVersion(params.protocolVersion),
      // An initialize comes with a session (or the legacy stream), which can deliver notifications.
      capabilities: this.capabilities({ canNotify: true }),
      serverInfo: this.serverInfo,
      instructions: this.instructions,
    };
  }

  /**
   * `tools/list` as the revision knows it: `outputSchema` (with the
   * `structuredContent` it promises) exists from 2025-06-18. Always in the
   * same order.
   */
  #toolList(version: string): Record<string, unknown> {
    const structured = version >= "2025-06-18";
    return this.#constant(`tools:${structured}`, () => ({ tools: this.#tools.map(({ outputSchema, ...tool }) => (structured ? { ...tool, outputSchema } : tool)) }));
  }

  async #callTool(params: Record<string, unknown>, context: RequestContext): Promise<Record<string, unknown>> {
    const { name, arguments: args } = params;
    if (typeof name !== "string") throw new McpError(ErrorCode.InvalidParams, "tools/call needs the name of a tool (a string)");
    // `null` is taken as none: some clients send it for a tool without arguments.
    if (args !== undefined && args !== null && (typeof args !== "object" || Array.isArray(args))) {
      throw new McpError(ErrorCode.InvalidParams, "tools/call arguments must be an object");
    }
    if (!(TOOL_NAMES as readonly string[]).includes(name)) throw unknownTool(name);
    if (!(await this.#library.whenReady(READY_WAIT_MS))) {
      return toolResult({ error: "The documentation is still loading (or its source is unreachable); try again in a moment." }, context.version);
    }
    return toolResult(runTool(this.#library, name, (args ?? {}) as Record<string, unknown>), context.version);
  }
}

/**
 * A tool's outcome as a `tools/call` result: the JSON as text, and
 * structured from 2025-06-18. Its own JSON text comes with it (see
 * answer-json.ts), so the output is written once, not three times.
 */
function toolResult(outcome: ToolOutcome, version: string): Record<string, unknown> {
  if ("error" in outcome) return { content: [{ type: "text", text: outcome.error }], isError: true };
  const json = outcome.json ?? JSON.stringify(outcome.output);
  const escaped = outcome.escaped ?? JSON.stringify(json);
  const content = [{ type: "text", text: json }];
  const text = `"content":[{"type":"text","text":${escaped}}]`;
  if (version < "2025-06-18") return withJson({ content }, [text]);
  return withJson({ content, structuredContent: outcome.output }, [text, `"structuredContent":${json}`]);
}
