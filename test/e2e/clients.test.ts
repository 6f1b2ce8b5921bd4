/**
 * Real MCP clients of every generation against the real server: the SDK's
 * v2 client speaking 2026-07-28 (no `initialize` on the wire), in its other
 * modes, and the v1 clients people still run (1.0.4 over legacy SSE; 1.10,
 * 1.12, 1.13 and 1.32 over Streamable HTTP), each agreeing the newest
 * revision both sides know.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableV2 } from "@modelcontextprotocol/client";
import { startTestServer, tempDir, type TestServer } from "../support/server.ts";
import { until } from "../support/wait.ts";

let server: TestServer;
let docs: { path: string; remove: () => void };
beforeAll(async () => {
  docs = tempDir();
  writeFileSync(join(docs.path, "renewals.md"), "# Certificate renewals\n\nCertificates are renewed when a third of their lifetime is left.\n");
  writeFileSync(join(docs.path, "backoff.md"), "# Backoff\n\nFailed renewals are retried with capped exponential backoff.\n");
  server = await startTestServer({ MCP_DOCS_SOURCE: docs.path, MCP_DOCS_REFRESH: "off" });
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
  docs.remove();
});

/**
 * A fetch that records the JSON-RPC method of every POST and any GET, and
 * the version the server answered an `initialize` with: the wire's side of
 * the story.
 */
function recordingFetch(log: string[], agreed?: { version?: string }, realFetch: typeof fetch = fetch): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const rpc = method === "POST" && typeof init?.body === "string" ? ((JSON.parse(init.body) as { method?: string }).method ?? "(response)") : undefined;
    log.push(rpc ? `POST ${rpc}` : method);
    const response = await realFetch(input, init);
    if (rpc === "initialize" && agreed && response.status === 200) {
      // JSON, or one SSE event carrying it.
      const text = await response.clone().text();
      const json = JSON.parse(text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}"));
      agreed.version = json.result?.protocolVersion;
    }
    return response;
  }) as typeof fetch;
}

function structured(result: unknown): any {
  return (result as { structuredContent: unknown }).structuredContent;
}

describe("the v2 SDK client (@modelcontextprotocol/client 2.4.0)", () => {
  test("pinned to 2026-07-28: server/discover, then plain requests; no initialize, no session, no GET", async () => {
    const wire: string[] = [];
    const client = new ClientV2({ name: "v2-pinned", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new StreamableV2(new URL("/mcp", server.url), { fetch: recordingFetch(wire) }));
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(client.getServerVersion()?.name).toBe("mcp-server");

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["search", "fetch"]);
    for (const tool of tools) {
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
      expect(tool.title).toBeTruthy();
    }
    const found = await client.callTool({ name: "search", arguments: { query: "third of their lifetime" } });
    expect(structured(found).results[0].id).toBe("renewals");
    // The same JSON as text, for clients that read only content.
    expect(JSON.parse((found.content as { text: string }[])[0]!.text)).toEqual(structured(found));
    const page = await client.callTool({ name: "fetch", arguments: { id: "backoff" } });
    expect(structured(page).text).toContain("exponential backoff");
    const read = await client.readResource({ uri: "docs://renewals" });
    expect((read.contents[0] as { text: string }).text).toContain("third of their lifetime");
    const missing = await client.readResource({ uri: "docs://nope" }).catch((error: unknown) => error);
    expect((missing as { code?: number }).code).toBe(-32602);

    expect(wire).not.toContain("POST initialize");
    expect(wire).not.toContain("GET");
    expect(wire[0]).toBe("POST server/discover");
    await client.close();
  });

  test("in auto mode it finds the modern era by itself", async () => {
    const client = new ClientV2({ name: "v2-auto", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(new StreamableV2(new URL("/mcp", server.url)));
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect((await client.listTools()).tools.length).toBe(2);
    await client.close();
  });

  test("in its default legacy mode it initializes a 2025-11-25 session, as before", async () => {
    const wire: string[] = [];
    const client = new ClientV2({ name: "v2-legacy", version: "1.0.0" });
    await client.connect(new StreamableV2(new URL("/mcp", server.url), { fetch: recordingFetch(wire) }));
    expect(client.getNegotiatedProtocolVersion()).toBe("2025-11-25");
    expect(wire[0]).toBe("POST initialize");
    const found = await client.callTool({ name: "search", arguments: { query: "backoff" } });
    expect(structured(found).results[0].id).toBe("backoff");
    await client.close();
  });

  test("subscriptions/listen: told when a refresh replaces the index, with the subscription's id", async () => {
    const client = new ClientV2({ name: "v2-listen", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new StreamableV2(new URL("/mcp", server.url)));
    const changed: unknown[] = [];
    client.setNotificationHandler("notifications/resources/list_changed", (notification) => void changed.push(notification));
    const subscription = await client.listen({ resourcesListChanged: true, toolsListChanged: true });
    // Tools never change while running: only what can happen is honoured.
    expect(subscription.honoredFilter).toEqual({ resourcesListChanged: true });

    writeFileSync(join(docs.path, "rate-limits.md"), "# Rate limits\n\nThe CA's Retry-After is honoured.\n");
    await server.reload();
    await until("the list_changed notification", () => changed.length === 1);
    expect((changed[0] as { params?: { _meta?: Record<string, unknown> } }).params?._meta?.["io.modelcontextprotocol/subscriptionId"]).toBeDefined();
    const { resources } = await client.listResources(undefined, { cacheMode: "refresh" } as never);
    expect(resources.map((resource) => resource.uri)).toContain("docs://rate-limits");

    await subscription.close();
    expect(await subscription.closed).toBe("local");
    await client.close();
  });
});

/** The v1 SDK releases people still run, each with the transport it has. */
const V1_CLIENTS = [
  { release: "1.0.4", transport: "sse", expected: "2024-11-05" },
  { release: "1.10", transport: "streamable", expected: "2024-11-05" },
  { release: "1.12", transport: "streamable", expected: "2025-03-26" },
  { release: "1.13", transport: "streamable", expected: "2025-06-18" },
  { release: "1.32", transport: "streamable", expected: "2025-11-25" },
] as const;

async function v1Client(release: string, transport: "sse" | "streamable") {
  // Each release's own package (npm aliases in package.json), through its exports map.
  const root = release === "1.32" ? "@modelcontextprotocol/sdk" : `sdk-${release}`;
  const { Client } = await import(`${root}/client/index.js`);
  const { LATEST_PROTOCOL_VERSION } = await import(`${root}/types.js`);
  const wire: string[] = [];
  const agreed: { version?: string } = {};
  const client = new Client({ name: `sdk-${release}`, version: release }, { capabilities: {} });
  const url = new URL(transport === "sse" ? "/sse" : "/mcp", server.url);
  const { StreamableHTTPClientTransport, SSEClientTransport } = await import(`${root}/client/${transport === "sse" ? "sse" : "streamableHttp"}.js`);
  // Releases before 1.13 take no fetch option: watch the wire through the global one while connecting.
  const realFetch = globalThis.fetch;
  globalThis.fetch = recordingFetch(wire, agreed, realFetch);
  // 1.0.4 expects a browser's EventSource; in Node its users installed the eventsource package as the global one.
  const hadEventSource = "EventSource" in globalThis;
  if (!hadEventSource) (globalThis as Record<string, unknown>).EventSource = (await import("eventsource")).EventSource;
  try {
    await client.connect(transport === "sse" ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url));
  } finally {
    globalThis.fetch = realFetch;
  }
  return { client, wire, agreed: agreed.version, newest: LATEST_PROTOCOL_VERSION as string };
}

describe("v1 SDK clients", () => {
  for (const { release, transport, expected } of V1_CLIENTS) {
    test(`${release} over ${transport}: agrees ${expected}, searches, fetches, reads`, async () => {
      const { client, agreed, newest } = await v1Client(release, transport);
      // The client asks for the newest it knows, and the server, which knows it, agrees to exactly that.
      expect(newest).toBe(expected);
      // Over SSE the answer arrives on the event stream: the client checked it and connected.
      if (transport === "streamable") expect(agreed).toBe(expected);
      expect(client.getServerVersion().name).toBe("mcp-server");

      const { tools } = await client.listTools();
      expect(tools.map((tool: { name: string }) => tool.name)).toEqual(["search", "fetch"]);
      // outputSchema exists from 2025-06-18; older clients never see it (nor structuredContent).
      expect(tools[0].outputSchema !== undefined).toBe(expected >= "2025-06-18");
      const found = await client.callTool({ name: "search", arguments: { query: "third of their lifetime" } });
      const results = JSON.parse(found.content[0].text).results;
      expect(results[0].id).toBe("renewals");
      expect(found.structuredContent !== undefined).toBe(expected >= "2025-06-18");
      const page = await client.callTool({ name: "fetch", arguments: { id: "backoff" } });
      expect(JSON.parse(page.content[0].text).text).toContain("exponential backoff");
      const read = await client.readResource({ uri: "docs://renewals" });
      expect(read.contents[0].text).toContain("third of their lifetime");
      // A missing resource before 2026-07-28 is -32002.
      const missing = await client.readResource({ uri: "docs://nope" }).catch((error: unknown) => error);
      expect((missing as { code?: number }).code).toBe(-32002);
      await client.close();
    });
  }
});
