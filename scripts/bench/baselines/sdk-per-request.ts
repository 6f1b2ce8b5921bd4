/**
 * Baseline: the common way to serve MCP statelessly with the SDK, compiled
 * like the product. Every request to /mcp gets a new SDK `Server` and a new
 * `WebStandardStreamableHTTPServerTransport` (no session id generator: the
 * SDK's stateless mode, answering POSTs as SSE streams, its default), as in
 * the SDK's own Hono/web-standard example. Nothing else: no documentation,
 * no routing framework, no limits.
 *
 * Environment:
 *   BENCH_PORT          port on 127.0.0.1
 *   BENCH_CERT/BENCH_KEY  PEM files: serve https with them (else plain http)
 *   BENCH_TOOL_RESULT   JSON file: the CallToolResult every tools/call returns
 *                       (the product's own answer, so both send the same bytes)
 */
import { readFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";

const env = process.env;
const toolResult: CallToolResult = env.BENCH_TOOL_RESULT
  ? JSON.parse(readFileSync(env.BENCH_TOOL_RESULT, "utf8"))
  : { content: [{ type: "text", text: "ok" }] };
const tools: Tool[] = [
  { name: "search", description: "Search the documentation.", inputSchema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } },
  { name: "fetch", description: "Read a page.", inputSchema: { type: "object", properties: { id: { type: "string" } }, required: ["id"] } },
];

function newServer(): Server {
  const server = new Server({ name: "sdk-per-request", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, () => toolResult);
  return server;
}

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(env.BENCH_PORT),
  tls: env.BENCH_CERT ? { cert: readFileSync(env.BENCH_CERT, "utf8"), key: readFileSync(env.BENCH_KEY!, "utf8") } : undefined,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/mcp") {
      const transport = new WebStandardStreamableHTTPServerTransport();
      const server = newServer();
      await server.connect(transport);
      return transport.handleRequest(request);
    }
    if (path === "/healthz") return Response.json({ status: "ok" });
    return new Response("not found\n", { status: 404 });
  },
});
