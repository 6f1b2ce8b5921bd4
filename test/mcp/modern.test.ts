/**
 * MCP 2026-07-28 on the wire, request by request: what a client sends and
 * what it gets back, including every refusal of the spec's validation
 * ladder, with and without `MCP_STATELESS` (the revision is stateless
 * either way).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, tempDir, type TestServer } from "../support/server.ts";
import { until } from "../support/wait.ts";

const VERSION = "2026-07-28";
const META = { "io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {} };

interface Call {
  method: string;
  params?: Record<string, unknown>;
  id?: number | string;
  /** Header overrides; `null` removes one. */
  headers?: Record<string, string | null>;
}

function post(base: URL, call: Call, signal?: AbortSignal): Promise<Response> {
  const params = call.params ?? { _meta: META };
  const name = call.method === "tools/call" || call.method === "prompts/get" ? params.name : call.method === "resources/read" ? params.uri : undefined;
  const headers: Record<string, string | null> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
    "mcp-method": call.method,
    ...(typeof name === "string" ? { "mcp-name": name } : {}),
    ...call.headers,
  };
  return fetch(new URL("/mcp", base), {
    method: "POST",
    headers: Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== null)),
    body: JSON.stringify({ jsonrpc: "2.0", id: call.id ?? 1, method: call.method, params }),
    signal,
  });
}

async function rpc(base: URL, call: Call): Promise<{ status: number; body: any }> {
  const response = await post(base, call);
  return { status: response.status, body: await response.json() };
}

for (const mode of ["sessions", "MCP_STATELESS"] as const) {
  describe(`MCP 2026-07-28 (${mode})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(mode === "MCP_STATELESS" ? { MCP_STATELESS: "true" } : {});
    });
    afterAll(async () => {
      await server[Symbol.asyncDispose]();
    });

    test("server/discover: versions, capabilities, identity in _meta, caching hints from MCP_DOCS_REFRESH", async () => {
      const { status, body } = await rpc(server.url, { method: "server/discover" });
      expect(status).toBe(200);
      expect(body.id).toBe(1);
      expect(body.result).toMatchObject({
        resultType: "complete",
        supportedVersions: [VERSION],
        capabilities: { tools: {}, resources: { listChanged: true }, prompts: {} },
        ttlMs: 15 * 60_000,
        cacheScope: "public",
        _meta: { "io.modelcontextprotocol/serverInfo": { name: "mcp-server" } },
      });
      expect(body.result.instructions.length).toBeLessThan(2048);
      expect(body.result).not.toHaveProperty("protocolVersion");
    });

    test("lists and reads carry resultType, ttlMs and cacheScope; tools/list keeps one order", async () => {
      for (const method of ["tools/list", "resources/list", "resources/templates/list", "prompts/list"]) {
        const { body } = await rpc(server.url, { method });
        expect({ method, ...body.result }).toMatchObject({ method, resultType: "complete", ttlMs: 15 * 60_000, cacheScope: "public" });
      }
      const read = await rpc(server.url, { method: "resources/read", params: { uri: "docs://security", _meta: META } });
      expect(read.body.result).toMatchObject({ resultType: "complete", ttlMs: 15 * 60_000, cacheScope: "public" });
      const lists = await Promise.all(Array.from({ length: 5 }, () => rpc(server.url, { method: "tools/list" })));
      for (const { body } of lists) expect(body.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["search", "fetch"]);
      // Tool calls are not cacheable: no hints there, but resultType all the same.
      const call = await rpc(server.url, { method: "tools/call", params: { name: "search", arguments: { query: "token" }, _meta: META } });
      expect(call.body.result.resultType).toBe("complete");
      expect(call.body.result).not.toHaveProperty("ttlMs");
    });

    test("tools declare outputSchema and return structuredContent with the same JSON as text", async () => {
      const { body } = await rpc(server.url, { method: "tools/list" });
      for (const tool of body.result.tools) {
        expect(tool.outputSchema.type).toBe("object");
        expect(tool.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
        expect(tool.description.length).toBeLessThan(2048);
      }
      const search = await rpc(server.url, { method: "tools/call", params: { name: "search", arguments: { query: "bearer token" }, _meta: META } });
      const { structuredContent, content } = search.body.result;
      // (Copies: bun 1.4's toMatchObject writes its asymmetric matchers into the object it checks.)
      expect(structuredClone(structuredContent.results[0])).toMatchObject({ id: expect.any(String), title: expect.any(String), url: expect.any(String) });
      expect(JSON.parse(content[0].text)).toEqual(structuredContent);
      const page = await rpc(server.url, { method: "tools/call", params: { name: "fetch", arguments: { id: structuredContent.results[0].id }, _meta: META } });
      expect(page.body.result.structuredContent).toMatchObject({ id: structuredContent.results[0].id, text: expect.any(String), metadata: { truncated: false } });
    });

    test("the validation ladder, in the order the spec pins, each refusal carrying the request's id", async () => {
      const cases: [string, Call, number, number][] = [
        ["no MCP-Protocol-Version", { method: "tools/list", headers: { "mcp-protocol-version": null } }, 400, -32020],
        ["no _meta", { method: "tools/list", params: {} }, 400, -32602],
        ["no client capabilities", { method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": VERSION } } }, 400, -32602],
        ["header and _meta disagree", { method: "tools/list", params: { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } } }, 400, -32020],
        ["no Mcp-Method", { method: "tools/list", headers: { "mcp-method": null } }, 400, -32020],
        ["Mcp-Method of another method", { method: "tools/list", headers: { "mcp-method": "resources/list" } }, 400, -32020],
        ["Mcp-Method in another case", { method: "tools/list", headers: { "mcp-method": "TOOLS/LIST" } }, 400, -32020],
        ["no Mcp-Name on tools/call", { method: "tools/call", params: { name: "search", arguments: { query: "x" }, _meta: META }, headers: { "mcp-name": null } }, 400, -32020],
        ["Mcp-Name of another tool", { method: "tools/call", params: { name: "search", arguments: { query: "x" }, _meta: META }, headers: { "mcp-name": "fetch" } }, 400, -32020],
        ["Mcp-Name of another resource", { method: "resources/read", params: { uri: "docs://security", _meta: META }, headers: { "mcp-name": "docs://https" } }, 400, -32020],
        ["a character outside visible ASCII in Mcp-Name, not base64-encoded", { method: "tools/call", params: { name: "search", arguments: { query: "x" }, _meta: META }, headers: { "mcp-name": "s\u00e9arch" } }, 400, -32020],
        ["a revision this server does not speak", { method: "tools/list", params: { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } }, headers: { "mcp-protocol-version": "2099-01-01" } }, 400, -32022],
        ["initialize, gone from this revision", { method: "initialize", params: { _meta: META } }, 404, -32601],
        ["ping, gone", { method: "ping" }, 404, -32601],
        ["logging/setLevel, gone", { method: "logging/setLevel", params: { level: "info", _meta: META } }, 404, -32601],
        ["resources/subscribe, gone", { method: "resources/subscribe", params: { uri: "docs://security", _meta: META } }, 404, -32601],
        ["a method nobody has", { method: "no/such/method" }, 404, -32601],
      ];
      for (const [i, [what, call, status, code]] of cases.entries()) {
        const { status: got, body } = await rpc(server.url, { ...call, id: `case-${i}` });
        expect({ what, status: got, code: body.error?.code, id: body.id }).toEqual({ what, status, code, id: `case-${i}` });
        expect(typeof body.error.message).toBe("string");
      }
      const unsupported = await rpc(server.url, { method: "tools/list", params: { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } }, headers: { "mcp-protocol-version": "2099-01-01" } });
      expect(unsupported.body.error.data).toEqual({ supported: [VERSION], requested: "2099-01-01" });
    });

    test("header values: names are case-insensitive, values are trimmed, and =?base64?…?= is decoded", async () => {
      const params = { name: "search", arguments: { query: "token" }, _meta: META };
      const variants: Record<string, string | null>[] = [{ "MCP-METHOD": "tools/call", "mcp-method": null }, { "mcp-name": "  search  " }, { "mcp-name": `=?base64?${btoa("search")}?=` }];
      for (const headers of variants) {
        const { status, body } = await rpc(server.url, { method: "tools/call", params, headers });
        expect({ headers, status }).toEqual({ headers, status: 200 });
        expect(body.result.isError).toBeUndefined();
      }
      const broken = await rpc(server.url, { method: "tools/call", params, headers: { "mcp-name": "=?base64?###?=" } });
      expect(broken.body.error.code).toBe(-32020);
    });

    test("errors as the spec says: unknown tool and malformed calls -32602, a missing resource -32602 with its uri; bad arguments are tool errors", async () => {
      const unknown = await rpc(server.url, { method: "tools/call", params: { name: "delete_everything", arguments: {}, _meta: META } });
      expect(unknown.body.error).toEqual({ code: -32602, message: 'Unknown tool "delete_everything": this server has the tools search and fetch' });
      for (const params of [{ arguments: {} }, { name: "search", arguments: ["q"] }, { name: "search", arguments: "q" }]) {
        const response = await post(server.url, { method: "tools/call", params: { ...params, _meta: META }, headers: { "mcp-name": String(params.name) } });
        const body = await response.json();
        // No name means Mcp-Name cannot match: a header mismatch; with a name, the params themselves.
        expect(body.error.code).toBe(params.name === undefined ? -32020 : -32602);
        expect(body.error.message).not.toMatch(/zod|"path"|invalid_type/);
      }
      const missing = await rpc(server.url, { method: "resources/read", params: { uri: "docs://no/such/page", _meta: META } });
      expect(missing.body.error).toEqual({ code: -32602, message: "Resource not found: docs://no/such/page", data: { uri: "docs://no/such/page" } });
      const numeric = await post(server.url, { method: "resources/read", params: { uri: 42, _meta: META }, headers: { "mcp-name": "42" } });
      expect((await numeric.json()).error.code).toBe(-32020);
      // Tool execution errors a model can correct: a result with isError, not a protocol error.
      const badArgs = await rpc(server.url, { method: "tools/call", params: { name: "search", arguments: {}, _meta: META } });
      expect(badArgs.body.result).toMatchObject({ isError: true, resultType: "complete" });
      expect(badArgs.body.result.content[0].text).toContain("query");
    });

    test("no batches, no responses from the client; a notification is accepted with 202", async () => {
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": VERSION, "mcp-method": "tools/list" };
      const batch = await fetch(new URL("/mcp", server.url), {
        method: "POST",
        headers,
        body: JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: META } }]),
      });
      expect(batch.status).toBe(400);
      expect((await batch.json()).error.code).toBe(-32600);
      const notification = await fetch(new URL("/mcp", server.url), {
        method: "POST",
        headers: { ...headers, "mcp-method": "notifications/cancelled" },
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, _meta: META } }),
      });
      expect(notification.status).toBe(202);
      expect(await notification.text()).toBe("");
    });

    test("any request stands alone: no session id is minted, and one sent is ignored", async () => {
      const response = await post(server.url, { method: "tools/list", headers: { "mcp-session-id": "not-a-session" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("mcp-session-id")).toBeNull();
    });
  });
}

describe("subscriptions/listen on the wire", () => {
  let server: TestServer;
  let docs: { path: string; remove: () => void };
  beforeAll(async () => {
    docs = tempDir();
    writeFileSync(join(docs.path, "intro.md"), "# Intro\n\nThe first page.\n");
    server = await startTestServer({ MCP_MAX_STREAMS_PER_CLIENT: "2", MCP_DOCS_SOURCE: docs.path, MCP_DOCS_REFRESH: "off" });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
    docs.remove();
  });

  /** Opens a listen stream and reads its events as they come. */
  async function listen(id: number, notifications: Record<string, unknown>) {
    const controller = new AbortController();
    const response = await post(server.url, { method: "subscriptions/listen", id, params: { notifications, _meta: META } }, controller.signal);
    const events: any[] = [];
    let ended = false;
    if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
      void (async () => {
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            for (let cut = buffer.indexOf("\n\n"); cut !== -1; cut = buffer.indexOf("\n\n")) {
              const data = /^data: (.*)$/m.exec(buffer.slice(0, cut));
              if (data) events.push(JSON.parse(data[1]!));
              buffer = buffer.slice(cut + 2);
            }
          }
        } catch {
          // Aborted by the test.
        }
        ended = true;
      })();
    }
    return { response, events, ended: () => ended, close: () => controller.abort() };
  }

  test("the acknowledgement comes first, says what is honoured, and a refresh is announced with the subscription's id", async () => {
    const stream = await listen(7, { resourcesListChanged: true, toolsListChanged: true });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get("content-type")).toStartWith("text/event-stream");
    await until("the acknowledgement", () => stream.events.length >= 1);
    expect(stream.events[0]).toEqual({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { _meta: { "io.modelcontextprotocol/subscriptionId": 7 }, notifications: { resourcesListChanged: true } },
    });
    writeFileSync(join(docs.path, "second.md"), "# Second\n\nAdded while listening.\n");
    await server.reload();
    await until("the list_changed notification", () => stream.events.length >= 2);
    expect(stream.events[1]).toEqual({
      jsonrpc: "2.0",
      method: "notifications/resources/list_changed",
      params: { _meta: { "io.modelcontextprotocol/subscriptionId": 7 } },
    });
    await stream.close();
  });

  test("nothing it can honour: acknowledged with nothing, and answered at once", async () => {
    const stream = await listen(8, { toolsListChanged: true });
    await until("the stream's end", () => stream.ended());
    expect(stream.events).toEqual([
      { jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { _meta: { "io.modelcontextprotocol/subscriptionId": 8 }, notifications: {} } },
      { jsonrpc: "2.0", id: 8, result: { resultType: "complete", _meta: { "io.modelcontextprotocol/subscriptionId": 8 } } },
    ]);
  });

  test("streams are capped per client (MCP_MAX_STREAMS_PER_CLIENT) and the slot comes back when one closes", async () => {
    const first = await listen(1, { resourcesListChanged: true });
    const second = await listen(2, { resourcesListChanged: true });
    await until("two acknowledgements", () => first.events.length === 1 && second.events.length === 1);
    const third = await post(server.url, { method: "subscriptions/listen", id: 3, params: { notifications: { resourcesListChanged: true }, _meta: META } });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await third.json()).id).toBe(3);
    await first.close();
    await until("the freed slot", async () => {
      const retry = await listen(4, { resourcesListChanged: true });
      const ok = retry.response.status === 200;
      await retry.close();
      return ok;
    });
    await second.close();
  });

  test("a graceful stop ends every subscription with its completion result", async () => {
    const own = await startTestServer();
    const response = await post(own.url, { method: "subscriptions/listen", id: 9, params: { notifications: { resourcesListChanged: true }, _meta: META } });
    const text = response.text();
    await own[Symbol.asyncDispose]();
    const events = (await text).split("\n\n").filter((chunk) => chunk.startsWith("data: ")).map((chunk) => JSON.parse(chunk.slice(6)));
    expect(events.at(-1)).toEqual({ jsonrpc: "2.0", id: 9, result: { resultType: "complete", _meta: { "io.modelcontextprotocol/subscriptionId": 9 } } });
  });
});
