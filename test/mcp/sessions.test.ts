import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectClient, startTestServer, toolJson, type TestServer } from "../support/server.ts";

// Legacy Streamable HTTP sessions (2025-03-26 to 2025-11-25): a session's
// single requests are answered without the SDK's transport (sessions.ts,
// answeredDirectly); everything else still goes through it. Both must look
// the same on the wire.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

const HEADERS = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL("/mcp", server.url), { method: "POST", body: JSON.stringify(body), headers: { ...HEADERS, ...headers } });
}

/** Opens a session as a client does: initialize, then the initialized notification. */
async function openSession(version = "2025-11-25"): Promise<string> {
  const response = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "t", version: "1" } } });
  expect(response.status).toBe(200);
  await response.text();
  const id = response.headers.get("mcp-session-id")!;
  expect(id).toBeTruthy();
  expect((await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "Mcp-Session-Id": id, "MCP-Protocol-Version": version })).status).toBe(202);
  return id;
}

/** The JSON-RPC messages of an event-stream body. */
function events(text: string): unknown[] {
  return text
    .split("\n\n")
    .filter((block) => block.includes("data: "))
    .map((block) => {
      expect(block).toStartWith("event: message\n");
      return JSON.parse(block.slice(block.indexOf("data: ") + 6));
    });
}

test("a session's tools/call is answered as one message event, with the session's id, and its output intact", async () => {
  const session = await openSession();
  const response = await post({ jsonrpc: "2.0", id: 42, method: "tools/call", params: { name: "fetch", arguments: { id: "configuration" } } }, {
    "Mcp-Session-Id": session,
    "MCP-Protocol-Version": "2025-11-25",
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  expect(response.headers.get("mcp-session-id")).toBe(session);
  const [answer, ...rest] = events(await response.text()) as { id: number; result: { content: { text: string }[]; structuredContent: { id: string } } }[];
  expect(rest).toEqual([]);
  expect(answer!.id).toBe(42);
  expect(answer!.result.structuredContent.id).toBe("configuration");
  // The text item is the same JSON as the structured content (spliced, not re-serialized).
  expect(JSON.parse(answer!.result.content[0]!.text)).toEqual(answer!.result.structuredContent);
});

test("errors keep their id and code on the direct path: an unknown method, an unknown tool", async () => {
  const session = await openSession();
  const headers = { "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25" };
  const [unknownMethod] = events(await (await post({ jsonrpc: "2.0", id: "a", method: "no/such" }, headers)).text()) as { id: string; error: { code: number } }[];
  expect(unknownMethod).toMatchObject({ id: "a", error: { code: -32601 } });
  const [unknownTool] = events(await (await post({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "nope", arguments: {} } }, headers)).text()) as {
    error: { code: number; message: string };
  }[];
  expect(unknownTool!.error.code).toBe(-32602);
  expect(unknownTool!.error.message).toContain("search");
});

test("what the direct path leaves to the transport is refused as before: a second initialize, an uninitialized session", async () => {
  const session = await openSession();
  const again = await post(
    { jsonrpc: "2.0", id: 6, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } },
    { "Mcp-Session-Id": session },
  );
  expect(again.status).toBe(400);
  expect((await again.json()).error.message).toContain("already initialized");
  const unknown = await post({ jsonrpc: "2.0", id: 7, method: "tools/list" }, { "Mcp-Session-Id": "no-such-session" });
  expect(unknown.status).toBe(404);
});

test("a 2025-03-26 session still takes batches, through the transport, answered in order", async () => {
  const session = await openSession("2025-03-26");
  const response = await post(
    [
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { jsonrpc: "2.0", id: 2, method: "resources/list" },
    ],
    { "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-03-26" },
  );
  expect(response.status).toBe(200);
  const ids = events(await response.text()).map((message) => (message as { id: number }).id);
  expect(ids.sort()).toEqual([1, 2]);
});

test("the SDK's client over a session: lists, searches and fetches as before", async () => {
  const client = await connectClient(server.url, "streamable");
  expect((client as any)._transport.sessionId).toBeTruthy();
  expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["search", "fetch"]);
  const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "certificate renewal" } }));
  expect(results.length).toBeGreaterThan(0);
  const page = toolJson(await client.callTool({ name: "fetch", arguments: { id: results[0].id } }));
  expect(page.id).toBe(results[0].id);
  await client.close();
});
