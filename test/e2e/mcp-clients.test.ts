import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { connectClient, startTestServer, toolJson, toolText, type TestServer } from "../support/server.ts";
import { parsePrometheus } from "../support/prometheus.ts";

// The whole server, driven by the MCP SDK's own client over both transports,
// serving the embedded guide (the default source).
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

for (const transport of ["streamable", "sse"] as const) {
  describe(`over ${transport === "streamable" ? "Streamable HTTP (/mcp)" : "legacy SSE (/sse)"}`, () => {
    test("initializes and lists search and fetch with flat, Gemini-safe schemas", async () => {
      const client = await connectClient(server.url, transport);
      expect(client.getServerVersion()?.name).toBe("mcp-server");
      expect(client.getInstructions()).toContain("search");
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(["fetch", "search"]);
      for (const tool of tools) {
        expect(tool.inputSchema.type).toBe("object");
        expect(tool.inputSchema).not.toHaveProperty("$schema");
        expect(tool.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
      }
      expect(tools.find((tool) => tool.name === "search")!.inputSchema.required).toEqual(["query"]);
      await client.close();
    });

    test("search finds the guide page for a word from it, first", async () => {
      const client = await connectClient(server.url, transport);
      const result = await client.callTool({ name: "search", arguments: { query: "MCP_ALLOWED_HOSTS" } });
      const { results } = toolJson<{ results: { id: string; title: string; url: string; snippet: string }[] }>(result);
      expect(results.length).toBeGreaterThan(0);
      expect(["configuration", "security", "troubleshooting"]).toContain(results[0]!.id);
      expect(results[0]!.url).toStartWith(`${server.url.origin}/docs/`);

      const question = toolJson<{ results: { id: string }[] }>(
        await client.callTool({ name: "search", arguments: { query: "how do I connect ChatGPT" } }),
      );
      expect(question.results[0]!.id).toBe("connecting-clients");
      await client.close();
    });

    test("fetch returns the whole page as Markdown", async () => {
      const client = await connectClient(server.url, transport);
      const page = toolJson<{ id: string; title: string; text: string; url: string; metadata: Record<string, unknown> }>(
        await client.callTool({ name: "fetch", arguments: { id: "getting-started" } }),
      );
      expect(page.id).toBe("getting-started");
      expect(page.text).toContain("npm run dev");
      expect(page.url).toBe(`${server.url.origin}/docs/getting-started`);
      expect(page.metadata.truncated).toBe(false);
      // The page link really serves the page.
      const served = await fetch(page.url);
      expect(served.headers.get("content-type")).toContain("text/markdown");
      expect(await served.text()).toContain("npm run dev");
      await client.close();
    });

    test("bad arguments and unknown ids are tool errors a model can act on; an unknown tool is -32602", async () => {
      const client = await connectClient(server.url, transport);
      const missing = await client.callTool({ name: "fetch", arguments: { id: "no/such/page" } });
      expect(missing.isError).toBe(true);
      expect(toolText(missing)).toContain("search");
      const badArgs = await client.callTool({ name: "search", arguments: { query: 42 } });
      expect(badArgs.isError).toBe(true);
      expect(toolText(badArgs)).toContain("query");
      const traversal = await client.callTool({ name: "fetch", arguments: { id: "../../../etc/passwd" } });
      expect(traversal.isError).toBe(true);
      // The spec's tools section: a tool the server does not have is a protocol error, Invalid params.
      const unknownTool = await client.callTool({ name: "delete_everything", arguments: {} }).catch((error: unknown) => error);
      expect(unknownTool).toBeInstanceOf(McpError);
      expect((unknownTool as McpError).code).toBe(-32602);
      // Its message says what exists, once: no "MCP error -32602:" of the server's own under the client's.
      expect((unknownTool as McpError).message).toBe('MCP error -32602: Unknown tool "delete_everything": this server has the tools search and fetch');
      // The session still works afterwards.
      expect((await client.listTools()).tools.length).toBe(2);
      await client.close();
    });

    test("every page is a docs:// resource, listable and readable", async () => {
      const client = await connectClient(server.url, transport);
      const { resources } = await client.listResources();
      expect(resources.length).toBe(server.library.snapshot!.pages.length);
      const overview = resources.find((resource) => resource.uri === "docs://overview");
      expect(overview?.mimeType).toBe("text/markdown");
      const read = await client.readResource({ uri: "docs://configuration" });
      expect(read.contents[0]).toMatchObject({ uri: "docs://configuration", mimeType: "text/markdown" });
      expect((read.contents[0] as { text: string }).text).toContain("MCP_PORT");
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates[0]!.uriTemplate).toBe("docs://{+id}");
      await expect(client.readResource({ uri: "docs://../etc/passwd" })).rejects.toThrow(/not found/i);
      await expect(client.readResource({ uri: "file:///etc/passwd" })).rejects.toThrow(/not found/i);
      await client.close();
    });
  });
}

describe("HTTP surface", () => {
  test("/healthz reports pages, sections, index age and source", async () => {
    const response = await fetch(new URL("/healthz", server.url));
    expect(response.status).toBe(200);
    const health = await response.json();
    expect(health).toMatchObject({ status: "ok", source: "embedded" });
    expect(health.pages).toBe(9);
    expect(health.sections).toBeGreaterThan(health.pages);
    expect(health.indexAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  test("/llms.txt lists every page; /llms-full.txt has them in full", async () => {
    const index = await (await fetch(new URL("/llms.txt", server.url))).text();
    expect(index).toStartWith("# mcp-server user guide\n\n> ");
    expect(index.match(/^- \[/gm)?.length).toBe(9);
    expect(index).toContain(`(${server.url.origin}/docs/getting-started)`);
    const full = await (await fetch(new URL("/llms-full.txt", server.url))).text();
    for (const page of server.library.snapshot!.pages) expect(full).toContain(page.markdown.slice(0, 200));
  });

  test("a Host that is not ours gets 403 (DNS rebinding), and so does a foreign Origin", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    const rebound = await fetch(new URL("/mcp", server.url), { method: "POST", body, headers: { ...headers, Host: "evil.example.com" } });
    expect(rebound.status).toBe(403);
    expect((await rebound.json()).error.message).toContain("MCP_ALLOWED_HOSTS");
    const sse = await fetch(new URL("/sse", server.url), { headers: { Host: "evil.example.com:8080" } });
    expect(sse.status).toBe(403);
    const foreignOrigin = await fetch(new URL("/mcp", server.url), { method: "POST", body, headers: { ...headers, Origin: "https://evil.example.com" } });
    expect(foreignOrigin.status).toBe(403);
    const localOrigin = await fetch(new URL("/", server.url), { headers: { Origin: "http://localhost:6274" } });
    expect(localOrigin.status).toBe(200);
  });

  test("an unknown session is 404, a request without one is 400, and DELETE ends a session", async () => {
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream", "Mcp-Protocol-Version": "2025-11-25" };
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const unknown = await fetch(new URL("/mcp", server.url), { method: "POST", body: ping, headers: { ...headers, "Mcp-Session-Id": "nope" } });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe(-32001);
    const none = await fetch(new URL("/mcp", server.url), { method: "POST", body: ping, headers });
    expect(none.status).toBe(400);
    await none.body?.cancel();

    const client = await connectClient(server.url, "streamable");
    const transport = (client as any)._transport;
    const id: string = transport.sessionId;
    expect(id).toBeString();
    await transport.terminateSession();
    const after = await fetch(new URL("/mcp", server.url), { method: "POST", body: ping, headers: { ...headers, "Mcp-Session-Id": id } });
    expect(after.status).toBe(404);
    await client.close();
  });

  test("a body over the limit is 413 with a JSON-RPC error", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(1024 * 1024 + 10) } });
    const response = await fetch(new URL("/mcp", server.url), {
      method: "POST",
      body: big,
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    });
    expect(response.status).toBe(413);
    expect((await response.json()).error.message).toContain("limit");
  });
});

test("/metrics is valid Prometheus text with requests, sessions, documents and search latency", async () => {
  const client = await connectClient(server.url, "streamable");
  await client.callTool({ name: "search", arguments: { query: "configuration" } });
  const response = await fetch(new URL("/metrics", server.url));
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const samples = parsePrometheus(await response.text());
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  expect(value("mcp_documents_indexed")).toBe(9);
  expect(value("mcp_sections_indexed")).toBeGreaterThan(9);
  expect(value("mcp_sessions_open", { transport: "streamable" })).toBeGreaterThanOrEqual(1);
  expect(value("mcp_http_requests_total", { route: "/mcp", method: "POST", status: "200" })).toBeGreaterThan(0);
  expect(value("mcp_http_requests_total", { route: "/healthz" })).toBeGreaterThan(0);
  expect(value("mcp_search_duration_seconds_count")).toBeGreaterThan(0);
  // Made-up paths do not make a series each.
  await fetch(new URL("/no/such/path/" + crypto.randomUUID(), server.url));
  const again = parsePrometheus(await (await fetch(new URL("/metrics", server.url))).text());
  expect(again.some((s) => s.labels.route?.includes("no/such"))).toBe(false);
  await client.close();
});
