import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectClient, startTestServer, toolJson, type TestServer } from "../support/server.ts";

// MCP_STATELESS: Streamable HTTP without sessions, for replicas behind a load balancer.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MCP_STATELESS: "true" });
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(new URL("/mcp", server.url), {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers },
  });

test("the SDK client works without a session: initialize, list, search, fetch", async () => {
  const client = await connectClient(server.url, "streamable");
  expect((client as any)._transport.sessionId).toBeUndefined();
  expect((await client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(["fetch", "search"]);
  const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "stateless replicas" } }));
  expect(results.length).toBeGreaterThan(0);
  const page = toolJson(await client.callTool({ name: "fetch", arguments: { id: "getting-started" } }));
  expect(page.text).toContain("npm run dev");
  await client.close();
});

test("any request stands alone: a tools/call with no prior initialize is answered as plain JSON", async () => {
  const response = await post({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "fetch", arguments: { id: "configuration" } } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(response.headers.get("mcp-session-id")).toBeNull();
  const body = await response.json();
  expect(body.id).toBe(7);
  expect(JSON.parse(body.result.content[0].text).id).toBe("configuration");
});

test("concurrent clients using the same request id get their own answers", async () => {
  const ids = ["configuration", "search", "security", "https", "getting-started", "troubleshooting"];
  const answers = await Promise.all(
    ids.map((id) => post({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fetch", arguments: { id } } }).then((r) => r.json())),
  );
  answers.forEach((answer, i) => expect(JSON.parse(answer.result.content[0].text).id).toBe(ids[i]!));
});

test("notifications get 202; bad input gets JSON-RPC errors; batches follow the protocol version", async () => {
  expect((await post({ jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202);
  const malformed = await fetch(new URL("/mcp", server.url), { method: "POST", body: "{", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" } });
  expect(malformed.status).toBe(400);
  expect((await malformed.json()).error.code).toBe(-32700);
  const unknown = await (await post({ jsonrpc: "2.0", id: 2, method: "no/such/method" })).json();
  expect(unknown.error.code).toBe(-32601);
  const batch = [{ jsonrpc: "2.0", id: 1, method: "ping" }, { jsonrpc: "2.0", id: 2, method: "ping" }];
  expect((await post(batch, { "Mcp-Protocol-Version": "2025-11-25" })).status).toBe(400);
  const old = await post(batch, { "Mcp-Protocol-Version": "2025-03-26" });
  expect(old.status).toBe(200);
  expect((await old.json()).map((answer: { id: number }) => answer.id)).toEqual([1, 2]);
  expect((await fetch(new URL("/mcp", server.url))).status).toBe(405);
});

test("the legacy SSE transport is refused with a clear message", async () => {
  const response = await fetch(new URL("/sse", server.url));
  expect(response.status).toBe(400);
  expect((await response.json()).error.message).toContain("MCP_STATELESS");
});
