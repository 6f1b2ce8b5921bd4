import type { Context, Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Server as BunServer } from "bun";
import type { Logger } from "../log/index.ts";
import { readMcpPost } from "../mcp/http-request.ts";
import { ErrorCode, errorResponse } from "../mcp/jsonrpc.ts";
import type { SessionRegistry } from "../mcp/sessions.ts";
import type { StatelessEndpoint } from "../mcp/stateless.ts";

type Env = { Bindings: BunServer<unknown> | undefined; Variables: { client: string } };

export const MCP_PATH = "/mcp";
export const SSE_PATH = "/sse";
export const MESSAGE_PATH = "/message";

export interface McpRoutesOptions {
  /** Every 2026-07-28 request, and with `sessions` absent the legacy ones too. */
  stateless: StatelessEndpoint;
  /** Legacy sessions; absent with `MCP_STATELESS`, which refuses what needs one. */
  sessions?: SessionRegistry;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * The MCP endpoints: `/mcp` (Streamable HTTP, both eras) and the legacy
 * `/sse` + `/message`. A POST is read once, by the boundary
 * (src/mcp/http-request.ts), and goes by its era: modern requests are
 * stateless, legacy ones go to their session.
 */
export function mountMcpRoutes(app: Hono<Env>, options: McpRoutesOptions): void {
  const { stateless, sessions, logger } = options;
  // Who the caller is, for per-client caps (set by the app, from its address).
  const client = (c: Context<Env>) => c.get("client") ?? "unknown";
  // An event stream is quiet between keep-alives; it must outlive the idle
  // timeout that protects the server from idle plain requests.
  const keepOpen = (c: Context<Env>) => () => c.env?.timeout(c.req.raw, 0);
  const limitBody = bodyLimitOf(options.maxBodyBytes, logger);

  app.post(MCP_PATH, limitBody, async (c) => {
    const post = await readMcpPost(c.req.raw, { requireAccept: true });
    if (post instanceof Response) return post;
    if (post.era === "modern") return stateless.handleModern(c.req.raw, post, { client: client(c), keepOpen: keepOpen(c) });
    if (!sessions) return stateless.handleLegacy(c.req.raw, post);
    return sessions.handleStreamablePost(c.req.raw, post, client(c));
  });
  app.on(["GET", "DELETE"], MCP_PATH, (c) => {
    if (!sessions) {
      return errorResponse(405, ErrorCode.ConnectionClosed, "Method not allowed: this server is stateless (MCP_STATELESS); send JSON-RPC by POST", {
        headers: { Allow: "POST" },
      });
    }
    if (c.req.method === "GET") keepOpen(c)();
    return sessions.handleStreamableGetOrDelete(c.req.raw);
  });

  if (!sessions) {
    const sessionsNeeded = () =>
      errorResponse(400, ErrorCode.ConnectionClosed, "The legacy SSE transport needs a session, and this server runs stateless (MCP_STATELESS=true): use Streamable HTTP at /mcp");
    app.get(SSE_PATH, sessionsNeeded);
    app.post(MESSAGE_PATH, sessionsNeeded);
    return;
  }
  app.get(SSE_PATH, (c) => {
    keepOpen(c)();
    return sessions.openSse(c.req.raw, client(c));
  });
  app.post(MESSAGE_PATH, limitBody, (c) => sessions.postSse(c.req.raw, () => readMcpPost(c.req.raw, { requireAccept: false })));
}

/**
 * The one limit on an MCP body: Hono's `bodyLimit`, by `Content-Length` or,
 * for a chunked body, while reading it.
 *
 * A chunked body is read here, before the handler; a client that hangs up
 * mid-upload makes that read throw. That is the client's doing, not a server
 * fault: answer 400 (nobody is left to read it) and log at debug, rather than
 * a 500 and an error line per aborted upload.
 */
function bodyLimitOf(maxBodyBytes: number, logger: Logger): MiddlewareHandler<Env> {
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => errorResponse(413, ErrorCode.InvalidRequest, `Request body is over the ${maxBodyBytes}-byte limit`),
  });
  return async function limitMcpBody(c, next) {
    let bodyRead = false;
    try {
      return await limit(c, () => {
        bodyRead = true;
        return next();
      });
    } catch (error) {
      if (bodyRead) throw error;
      logger.debug("request body could not be read", { method: c.req.method, path: c.req.path, error: error as Error });
      return errorResponse(400, ErrorCode.ParseError, "Parse error: request body could not be read");
    }
  };
}
