import type { MiddlewareHandler } from "hono";
import { ErrorCode, errorResponse } from "../../mcp/jsonrpc.ts";

export interface HostGuardOptions {
  /** Host names (without port) the server answers to, lowercase. IPv6 addresses without brackets. */
  allowedHosts: Iterable<string>;
  /** Browser origins allowed to call, exactly as browsers send them (`https://chatgpt.com`); `*` allows any. */
  allowedOrigins: Iterable<string>;
  /**
   * Also allow loopback names as Host, and origins on loopback names (local
   * tools such as the MCP Inspector). For plain-HTTP local use; a public
   * server names its domains instead.
   */
  allowLoopback?: boolean;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1"]);

/** True for names that can only mean this machine: `localhost`, `*.localhost` (RFC 6761), 127/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The host name of a `Host` header value, lowercase, without port or IPv6 brackets. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(1, value.indexOf("]") === -1 ? undefined : value.indexOf("]"));
  const colon = value.lastIndexOf(":");
  return (colon === -1 ? value : value.slice(0, colon)).replace(/\.$/, "");
}

/**
 * DNS-rebinding protection, as the MCP spec requires of servers: a request
 * whose `Host` is not one of ours, or whose `Origin` is present and not
 * allowed, gets 403 before it reaches anything else.
 *
 * Both checks are needed: a rebinding page's `fetch` carries its own Origin,
 * but an `EventSource` GET on `/sse` may carry none, and only the Host header
 * (the attacker's name, now resolving to us) gives it away.
 *
 * @example
 * app.use("/mcp", hostGuard({ allowedHosts: ["localhost", "docs.example.com"], allowedOrigins: ["https://chatgpt.com"] }));
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const hosts = new Set([...options.allowedHosts].map((host) => host.toLowerCase().replace(/^\[|\]$/g, "")));
  const originAllowed = originPolicy(options);

  return async function hostGuardMiddleware(c, next) {
    const host = c.req.header("host");
    const name = host === undefined ? "" : hostName(host);
    if (!hosts.has(name) && !(options.allowLoopback && isLoopbackHost(name))) {
      return forbidden(`Host ${JSON.stringify((host ?? "").slice(0, 100))} is not allowed; add it to MCP_ALLOWED_HOSTS`);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && !originAllowed(origin)) {
      return forbidden(`Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed; add it to MCP_ALLOWED_ORIGINS`);
    }
    await next();
  };
}

/**
 * Whether a browser origin may call the server: the configured origins (`*`
 * for any), and with `allowLoopback` any http(s) origin on a loopback name.
 * One policy for the DNS-rebinding check and for CORS, so a browser is
 * never told "allowed" by one and refused by the other.
 */
export function originPolicy(options: Pick<HostGuardOptions, "allowedOrigins" | "allowLoopback">): (origin: string) => boolean {
  const origins = new Set(options.allowedOrigins);
  if (origins.has("*")) return () => true;
  return (origin) => origins.has(origin) || (options.allowLoopback === true && isLoopbackOrigin(origin));
}

function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""));
}

// A JSON-RPC error shape, so MCP clients show the reason instead of a bare status.
function forbidden(message: string): Response {
  return errorResponse(403, ErrorCode.ConnectionClosed, `Forbidden: ${message}`);
}
