import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import type { Server as BunServer } from "bun";
import type { Library } from "../docs/library.ts";
import { llmsFullTxt, llmsTxt } from "../docs/llms-txt.ts";
import { isValidId } from "../docs/ids.ts";
import type { SessionRegistry } from "../mcp/sessions.ts";
import { ErrorCode, errorMessage, errorResponse } from "../mcp/jsonrpc.ts";
import type { Logger } from "../log/index.ts";
import type { CertificateStatus } from "../tls/maintain.ts";
import type { Metrics } from "../metrics/index.ts";
import { hostGuard, originPolicy, type HostGuardOptions } from "./host-guard/index.ts";
import { mcpCors } from "./mcp-cors/index.ts";
import { STATUS_PAGE_HEADERS, statusPage, wantsHtml } from "./status-page/index.ts";
import type { InFlight } from "./in-flight/index.ts";
import { clientLimits, type StreamSlots } from "./client-limits/index.ts";
import { clientKey } from "./client-limits/client-key.ts";
import type { StatelessEndpoint } from "../mcp/stateless.ts";
import { MCP_PATH, MESSAGE_PATH, mountMcpRoutes, SSE_PATH } from "./mcp-routes.ts";

export interface AppOptions {
  library: Library;
  /** Legacy sessions; absent with `MCP_STATELESS`. */
  sessions?: SessionRegistry;
  version: string;
  maxBodyBytes: number;
  hosts: HostGuardOptions;
  logger: Logger;
  /** Certificate state, when serving HTTPS with a certificate of our own. */
  certificate?: () => CertificateStatus;
  metrics: Metrics;
  /** Tracks requests being answered, for a graceful shutdown. */
  inFlight?: InFlight;
  /** Bearer token required for everything but `/healthz` (and public metrics). */
  authToken?: string;
  /** Who may read `/metrics`. */
  metricsAccess?: "public" | "private" | "off";
  /** Answers every request that stands alone: all of 2026-07-28, and every legacy one without `sessions`. */
  stateless: StatelessEndpoint;
  /** Per-client caps: concurrent requests on every route but `/healthz`, and event streams. */
  limits?: { maxConcurrent: number; streams: StreamSlots };
  /** IPv6 clients are told apart by this prefix length (`MCP_CLIENT_IPV6_PREFIX`); default 64. */
  clientIpv6Prefix?: number;
}

/** Event streams: long-lived by design, exempt from idle timeouts and in-flight waits. */
export function isEventStream(request: Request): boolean {
  if (request.method !== "GET" || !URL.canParse(request.url)) return false;
  const path = new URL(request.url).pathname;
  return path === MCP_PATH || path === SSE_PATH;
}

/** What `/healthz` says, on the HTTPS port and on port 80 alike. */
export function healthReport(
  options: Pick<AppOptions, "library" | "sessions" | "version">,
  certificate?: CertificateStatus,
): { ready: boolean; body: Record<string, unknown> } {
  const ready = options.library.snapshot !== undefined && (certificate?.ready ?? true);
  return {
    ready,
    body: {
      status: ready ? "ok" : "unavailable",
      version: options.version,
      ...options.library.status(),
      sessions: options.sessions?.counts ?? { streamable: 0, sse: 0 },
      ...(certificate ? { certificate } : {}),
    },
  };
}

/** The Bun server as Hono's env, and `client`: who the caller is for the per-client caps, worked out once per request. */
type Env = { Bindings: BunServer<unknown> | undefined; Variables: { client: string } };

export { MCP_PATH, MESSAGE_PATH, SSE_PATH } from "./mcp-routes.ts";

/**
 * The HTTP surface: MCP over Streamable HTTP and legacy SSE, health, the
 * llms.txt files and each page as Markdown. Web-standard in and out; the Bun
 * server is only consulted (as the Hono env) to lift the idle timeout of
 * event streams.
 */
export function createApp(options: AppOptions): Hono<Env> {
  const { library, sessions, logger } = options;
  const app = new Hono<Env>();

  app.onError((error, c) => {
    // Middleware answers by throwing: bearer-auth throws its 401 (with
    // WWW-Authenticate) or 400 as an HTTPException. A custom onError receives
    // those too, and must pass them on rather than turn them into a 500.
    if (error instanceof HTTPException) return error.getResponse();
    logger.error("request failed", { method: c.req.method, path: c.req.path, error });
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  // Bun builds request.url from the Host header, so a Host with a bad port or
  // characters (`localhost:99999`, `a b`) makes it unparsable, and every
  // `new URL(request.url)` after this point would throw (a 500 and an error
  // log line per request). RFC 9112 (3.2): an invalid Host is 400. First, so
  // that /healthz and /metrics are covered too.
  app.use("*", async function validRequestUrl(c, next) {
    if (!URL.canParse(c.req.url)) {
      return errorResponse(400, ErrorCode.ConnectionClosed, "Bad Request: the Host header is not a valid host[:port]");
    }
    await next();
  });

  if (options.inFlight) app.use("*", options.inFlight.middleware);

  const ipv6Prefix = options.clientIpv6Prefix ?? 64;
  app.use("*", async function identifyClient(c, next) {
    c.set("client", clientKey(c.env?.requestIP(c.req.raw)?.address, ipv6Prefix));
    await next();
  });
  // Every route has a cost bound: per-client concurrency covers the
  // documentation, llms.txt, /metrics and the status page as well as MCP.
  // Health probes are exempt: they are cheap, and a balancer must always
  // reach them.
  if (options.limits) {
    const limit = clientLimits({ ...options.limits, isStream: isEventStream, client: (c) => c.get("client") });
    app.use("*", async function limitUnlessHealth(c, next) {
      if (c.req.path === "/healthz") return next();
      return limit(c, next);
    });
  }

  // Counted by route pattern, not path: `/docs/*` is one series, however
  // many pages (or made-up paths) are asked for.
  const { metrics } = options;
  app.use("*", async function countRequests(c, next) {
    await next();
    const route = c.res.status === 404 && c.req.routePath === "*" ? "unmatched" : c.req.routePath;
    metrics.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
  });
  metrics.registry.collect(() => {
    const { streamable, sse } = sessions?.counts ?? { streamable: 0, sse: 0 };
    metrics.sessions.set(streamable, { transport: "streamable" });
    metrics.sessions.set(sse, { transport: "sse" });
    const status = library.status();
    metrics.pages.set(status.pages);
    metrics.sections.set(status.sections);
    if (status.indexAgeSeconds !== undefined) metrics.indexAge.set(status.indexAgeSeconds);
    const certificate = options.certificate?.();
    if (certificate) {
      metrics.certificateNotAfter.reset();
      if (certificate.notAfter) {
        for (const name of certificate.names ?? []) metrics.certificateNotAfter.set(Date.parse(certificate.notAfter) / 1000, { domain: name });
      }
      metrics.renewals.set(certificate.renewals);
      metrics.renewalFailures.set(certificate.failures);
    }
  });
  const serveMetrics = (c: Context) => c.body(metrics.registry.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  // Public metrics, like health, skip the Host check: scrapers use addresses.
  if ((options.metricsAccess ?? "public") === "public") app.get("/metrics", serveMetrics);

  // Health is exempt from the Host check: load balancers and uptime probes
  // call it by address, and it reveals nothing worth a rebinding attack.
  app.get("/healthz", (c) => {
    const { ready, body } = healthReport(options, options.certificate?.());
    return c.json(body, ready ? 200 : 503);
  });

  app.use("*", hostGuard(options.hosts));
  // Browser clients (the MCP Inspector's direct mode, web apps) preflight
  // their calls. After the host guard, so a disallowed origin still gets 403;
  // before the token check, because a preflight never carries credentials.
  const cors = mcpCors({ originAllowed: originPolicy(options.hosts) });
  // Only browsers send Origin, and only they need CORS answers: other clients
  // skip it, and with it a response object built only to carry its headers.
  const corsForBrowsers: MiddlewareHandler<Env> = (c, next) => (c.req.header("origin") === undefined ? next() : cors(c, next));
  for (const path of [MCP_PATH, SSE_PATH, MESSAGE_PATH]) app.use(path, corsForBrowsers);
  if (options.authToken) {
    // MCP clients that get a 401 look for OAuth here (RFC 9728, RFC 8414,
    // dynamic client registration). A 401 on these would read as "OAuth,
    // but registration refused"; 404 says plainly that there is no OAuth,
    // so clients ask their user for the token instead.
    const noOAuth = (c: Context) => c.json({ error: "this server takes a static bearer token (MCP_AUTH_TOKEN), not OAuth" }, 404);
    app.all("/.well-known/oauth-protected-resource/*", noOAuth);
    app.all("/.well-known/oauth-protected-resource", noOAuth);
    app.all("/.well-known/oauth-authorization-server/*", noOAuth);
    app.all("/.well-known/oauth-authorization-server", noOAuth);
    app.all("/.well-known/openid-configuration/*", noOAuth);
    app.all("/.well-known/openid-configuration", noOAuth);
    app.all("/register", noOAuth);
    // Hono's bearer-auth compares tokens in constant time. Its refusals are
    // JSON-RPC errors like every other, so MCP clients show why.
    const refusal = (why: string) => ({ message: errorMessage(null, ErrorCode.ConnectionClosed, `Unauthorized: ${why}`) });
    app.use(
      "*",
      bearerAuth({
        token: options.authToken,
        realm: "mcp-server",
        noAuthenticationHeader: refusal("send Authorization: Bearer <MCP_AUTH_TOKEN>"),
        invalidAuthenticationHeader: refusal("the Authorization header must be Bearer <token>"),
        invalidToken: refusal("the bearer token is not this server's"),
      }),
    );
  }
  if (options.metricsAccess === "private") app.get("/metrics", serveMetrics);

  mountMcpRoutes(app, { stateless: options.stateless, sessions: options.sessions, maxBodyBytes: options.maxBodyBytes, logger });

  app.get("/", (c) => {
    const origin = new URL(c.req.url).origin;
    // One URL for people and programs: browsers get the page, anything else
    // (curl's */*, MCP clients, scripts) keeps the JSON. Caches must key on Accept.
    c.header("Vary", "Accept");
    if (wantsHtml(c.req.header("accept"))) {
      const certificate = options.certificate?.();
      const { ready } = healthReport(options, certificate);
      return c.html(statusPage({ origin, version: options.version, ready, library: library.status(), certificate }), 200, { ...STATUS_PAGE_HEADERS });
    }
    return c.json({
      name: "mcp-server",
      version: options.version,
      title: library.title,
      mcp: { streamableHttp: `${origin}${MCP_PATH}`, sse: `${origin}${SSE_PATH}` },
      docs: { llmsTxt: `${origin}/llms.txt`, llmsFullTxt: `${origin}/llms-full.txt`, health: `${origin}/healthz` },
    });
  });

  // Built once per index and served from the same bytes (Library.rendered):
  // N concurrent readers of llms-full.txt cost one copy of it, not N.
  const summary = `${library.title}, served over the Model Context Protocol by mcp-server.`;
  app.get("/llms.txt", () => markdown(library.rendered("llms.txt", (pages) => llmsTxt(library.title, summary, pages))));
  app.get("/llms-full.txt", () => markdown(library.rendered("llms-full.txt", (pages) => llmsFullTxt(library.title, summary, pages))));
  app.get("/docs/*", (c) => {
    // c.req.path is already decoded by Hono (and a malformed escape left as is).
    const id = c.req.path.slice("/docs/".length).replace(/\.md$/, "");
    const page = isValidId(id) ? library.page(id) : undefined;
    if (!page) return c.json({ error: "no such page; see /llms.txt for the list" }, 404);
    return markdown(library.rendered(`page:${page.id}`, () => `# ${page.title}\n\n${page.markdown}\n`));
  });

  return app;
}

function markdown(text: Blob): Response {
  return new Response(text, { headers: { "Content-Type": "text/markdown; charset=utf-8" } });
}
