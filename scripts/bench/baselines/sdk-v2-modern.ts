/**
 * Baseline: the official SDK's own way to serve MCP 2026-07-28
 * (`@modelcontextprotocol/server` 2.4.0, `createMcpHandler`), compiled like
 * the product: a low-level `Server` built for every request, as the handler
 * requires, answering the same tool result the product answers, as JSON.
 * Nothing else: no documentation, no routing framework, no limits. It is
 * what this server would run on had it moved to the SDK's v2 line; the
 * benchmark measures it beside the product's own engine so that choice
 * stays a measured one (README, "Protocol revisions").
 *
 * Environment:
 *   BENCH_PORT            port on 127.0.0.1
 *   BENCH_CERT/BENCH_KEY  PEM files: serve https with them (else plain http)
 *   BENCH_TOOL_RESULT     JSON file: the CallToolResult every tools/call returns
 */
import { readFileSync } from "node:fs";
import { createMcpHandler, Server } from "@modelcontextprotocol/server";

const env = process.env;
const toolResult = env.BENCH_TOOL_RESULT ? JSON.parse(readFileSync(env.BENCH_TOOL_RESULT, "utf8")) : { content: [{ type: "text", text: "ok" }] };
// The product's answer carries the 2026-07-28 decorations; the SDK adds its own.
delete toolResult.resultType;
delete toolResult._meta;
const schema = { type: "object" as const, properties: { query: { type: "string" } } };

function newServer(): Server {
  const server = new Server({ name: "sdk-v2-modern", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler("tools/list", async () => ({
    tools: [
      { name: "search", description: "Search the documentation.", inputSchema: schema },
      { name: "fetch", description: "Read a page.", inputSchema: schema },
    ],
  }));
  server.setRequestHandler("tools/call", async () => toolResult);
  return server;
}

const handler = createMcpHandler(() => newServer(), { responseMode: "json", legacy: "reject" });

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(env.BENCH_PORT),
  tls: env.BENCH_CERT ? { cert: readFileSync(env.BENCH_CERT, "utf8"), key: readFileSync(env.BENCH_KEY!, "utf8") } : undefined,
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/mcp") return handler.fetch(request);
    if (path === "/healthz") return Response.json({ status: "ok" });
    return new Response("not found\n", { status: 404 });
  },
});
