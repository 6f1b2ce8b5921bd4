/**
 * NOT a baseline and NOT the product: previews of two changes the benchmark
 * proposes, measured on the product's own parts assembled the way
 * `src/main.ts` does (Library over the same source, `createApp` with every
 * middleware, `TlsListener`). Compiled like the product; if the tree does not
 * build, the benchmark leaves them out.
 *
 * BENCH_MODE=stateless (default): what `MCP_STATELESS=true` would measure once
 * `src/mcp/stateless.ts` is wired in: the session registry's Streamable HTTP
 * handler replaced by one long-lived `StatelessEndpoint` (one SDK server for
 * every request, plain JSON answers).
 *
 * BENCH_MODE=stateful-json: the product's own `SessionRegistry`, with its
 * transports answering POSTs as JSON instead of one SSE stream per request,
 * i.e. `enableJsonResponse: true` where sessions.ts creates them (applied
 * here by setting the SDK transport's field before each request).
 *
 * Environment: BENCH_PORT, BENCH_CERT/BENCH_KEY (PEM files), BENCH_DOCS (a
 * Hugo JSON file), BENCH_DOMAIN, BENCH_MODE.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createSource } from "../../../src/docs/create-source.ts";
import { Library } from "../../../src/docs/library.ts";
import { createLogger } from "../../../src/log/index.ts";
import { mcpServerFactory } from "../../../src/mcp/server.ts";
import { SessionRegistry } from "../../../src/mcp/sessions.ts";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { StatelessEndpoint } from "../../../src/mcp/stateless.ts";
import { createApp, isEventStream } from "../../../src/http/app.ts";
import { createMetrics } from "../../../src/metrics/index.ts";
import { inFlightRequests } from "../../../src/http/in-flight/index.ts";
import { TlsListener } from "../../../src/tls/tls-listener.ts";

const env = process.env;
const logger = createLogger("warn");
const port = Number(env.BENCH_PORT);
const url = new URL(`https://${env.BENCH_DOMAIN}:${port}`);
const source = await createSource({ source: env.BENCH_DOCS!, selfDocsUrl: `${url.origin}/docs/`, dataDir: tmpdir() });
const metrics = createMetrics();
const library = new Library({ source, logger, refreshMs: 0, onSearch: (seconds) => metrics.searchSeconds.observe(seconds) });
await library.refresh();

const newServer = mcpServerFactory({ library, name: "mcp-server", version: "preview" });
let sessions: SessionRegistry;
if (env.BENCH_MODE === "stateful-json") {
  const proto = WebStandardStreamableHTTPServerTransport.prototype as unknown as { handleRequest: (this: { _enableJsonResponse: boolean }, ...args: unknown[]) => Promise<Response> };
  const handleRequest = proto.handleRequest;
  proto.handleRequest = function (...args) {
    this._enableJsonResponse = true;
    return handleRequest.apply(this, args);
  };
  sessions = new SessionRegistry({ newServer, maxSessions: 1000, maxSessionsPerClient: 50, idleMs: 30 * 60_000, maxBodyBytes: 1024 * 1024, messagePath: "/message", logger });
} else {
  const stateless = new StatelessEndpoint(newServer());
  const refuse = async () => new Response("the legacy SSE transport is off in stateless mode\n", { status: 405 });
  sessions = {
    counts: { streamable: 0, sse: 0 },
    handleStreamable: (request: Request) => stateless.handle(request),
    openSse: refuse,
    postSse: refuse,
    closeAll: async () => {},
  } as unknown as SessionRegistry;
}

const app = createApp({
  library,
  sessions,
  version: "preview",
  maxBodyBytes: 1024 * 1024,
  metrics,
  inFlight: inFlightRequests({ isStream: isEventStream }),
  metricsAccess: "public",
  limits: { maxConcurrent: 1000, maxStreams: 10 },
  hosts: { allowedHosts: [env.BENCH_DOMAIN!], allowedOrigins: [], allowLoopback: true },
  logger,
});
const listener = new TlsListener({ hostname: "127.0.0.1", port, fetch: (request, server) => app.fetch(request, server), idleTimeout: 15, logger });
await listener.serve(readFileSync(env.BENCH_CERT!, "utf8"), readFileSync(env.BENCH_KEY!, "utf8"));
// A normal exit on SIGTERM (lets `bun --cpu-prof` write its profile when this runs from source).
process.on("SIGTERM", () => process.exit(0));
