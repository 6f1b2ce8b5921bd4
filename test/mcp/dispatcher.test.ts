/**
 * The protocol engine on its own: what each revision gets for the same
 * request, with the real library over a small Markdown folder.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FolderSource } from "../../src/docs/folder-source.ts";
import { Library } from "../../src/docs/library.ts";
import { McpDispatcher } from "../../src/mcp/dispatcher.ts";
import { createLogger } from "../../src/log/index.ts";
import { tempDir } from "../support/server.ts";

let docs: { path: string; remove: () => void };
let library: Library;
let dispatcher: McpDispatcher;
beforeAll(async () => {
  docs = tempDir();
  writeFileSync(join(docs.path, "intro.md"), "# Introduction\n\nStart with the installation.\n");
  library = new Library({ source: new FolderSource(docs.path, "https://docs.example.test/"), logger: createLogger("error", () => {}), refreshMs: 0 });
  await library.refresh();
  dispatcher = new McpDispatcher({ library, name: "mcp-server", version: "9.9.9", cacheTtlMs: 60_000, cacheScope: "public" });
});
afterAll(() => {
  library.close();
  docs.remove();
});

const legacy = (version: string) => ({ version, modern: false, canNotify: true });
const modern = { version: "2026-07-28", modern: true, canNotify: true };
const call = (method: string, params?: Record<string, unknown>) => ({ jsonrpc: "2.0" as const, id: 1, method, ...(params ? { params } : {}) });

describe("initialize", () => {
  test("agrees the client's revision when it is one of ours, else the newest legacy one", async () => {
    for (const [asked, agreed] of [
      ["2025-11-25", "2025-11-25"],
      ["2025-06-18", "2025-06-18"],
      ["2025-03-26", "2025-03-26"],
      ["2024-11-05", "2024-11-05"],
      ["2099-01-01", "2025-11-25"],
    ]) {
      const answer = (await dispatcher.dispatch(call("initialize", { protocolVersion: asked, capabilities: {}, clientInfo: { name: "t", version: "1" } }), legacy("2025-03-26"))) as any;
      expect({ asked, agreed: answer.result.protocolVersion }).toEqual({ asked, agreed });
      expect(answer.result.serverInfo).toEqual({ name: "mcp-server", title: library.title, version: "9.9.9" });
    }
  });

  test("without a protocolVersion it is -32602, and it does not exist in 2026-07-28", async () => {
    expect(((await dispatcher.dispatch(call("initialize", {}), legacy("2025-03-26"))) as any).error.code).toBe(-32602);
    expect(((await dispatcher.dispatch(call("initialize", { protocolVersion: "2025-11-25" }), modern)) as any).error.code).toBe(-32601);
  });
});

describe("what each revision gets", () => {
  test("outputSchema and structuredContent from 2025-06-18 on; plain text before", async () => {
    for (const [version, structured] of [["2025-03-26", false], ["2025-06-18", true], ["2025-11-25", true]] as const) {
      const list = (await dispatcher.dispatch(call("tools/list"), legacy(version))) as any;
      expect({ version, outputSchema: list.result.tools[0].outputSchema !== undefined }).toEqual({ version, outputSchema: structured });
      const found = (await dispatcher.dispatch(call("tools/call", { name: "search", arguments: { query: "installation" } }), legacy(version))) as any;
      expect({ version, structuredContent: found.result.structuredContent !== undefined }).toEqual({ version, structuredContent: structured });
      expect(JSON.parse(found.result.content[0].text).results[0].id).toBe("intro");
      expect(found.result).not.toHaveProperty("resultType");
    }
  });

  test("2026-07-28 results carry resultType and the server's identity; lists and reads the caching hints", async () => {
    const list = (await dispatcher.dispatch(call("resources/list"), modern)) as any;
    expect(list.result).toMatchObject({ resultType: "complete", ttlMs: 60_000, cacheScope: "public" });
    expect(list.result._meta["io.modelcontextprotocol/serverInfo"].name).toBe("mcp-server");
    const found = (await dispatcher.dispatch(call("tools/call", { name: "search", arguments: { query: "installation" } }), modern)) as any;
    expect(found.result.resultType).toBe("complete");
    expect(found.result).not.toHaveProperty("ttlMs");
  });

  test("a missing resource: -32002 up to 2025-11-25, -32602 from 2026-07-28, both with data.uri", async () => {
    for (const [context, code] of [[legacy("2025-11-25"), -32002], [legacy("2024-11-05"), -32002], [modern, -32602]] as const) {
      const answer = (await dispatcher.dispatch(call("resources/read", { uri: "docs://nope" }), context)) as any;
      expect(answer.error).toEqual({ code, message: "Resource not found: docs://nope", data: { uri: "docs://nope" } });
    }
  });

  test("ping exists before 2026-07-28 only; server/discover from it only", async () => {
    expect(((await dispatcher.dispatch(call("ping"), legacy("2025-11-25"))) as any).result).toEqual({});
    expect(((await dispatcher.dispatch(call("ping"), modern)) as any).error.code).toBe(-32601);
    expect(((await dispatcher.dispatch(call("server/discover"), legacy("2025-11-25"))) as any).error.code).toBe(-32601);
    expect(((await dispatcher.dispatch(call("server/discover"), modern)) as any).result.supportedVersions).toEqual(["2026-07-28"]);
  });

  test("listChanged is promised only where the transport can deliver it", async () => {
    expect(dispatcher.capabilities({ canNotify: true })).toMatchObject({ resources: { listChanged: true } });
    expect(dispatcher.capabilities({ canNotify: false })).toEqual({ tools: {}, resources: {}, prompts: {} });
  });
});

describe("malformed calls are -32602 with a plain message", () => {
  test.each([
    ["tools/call without a name", "tools/call", { arguments: {} }],
    ["tools/call with array arguments", "tools/call", { name: "search", arguments: ["x"] }],
    ["tools/call of a tool we do not have", "tools/call", { name: "rm", arguments: {} }],
    ["resources/read with a numeric uri", "resources/read", { uri: 42 }],
    ["resources/list with a cursor we never gave", "resources/list", { cursor: "x" }],
    ["prompts/get of a prompt we do not have", "prompts/get", { name: "nope" }],
    ["prompts/get ask without a question", "prompts/get", { name: "ask", arguments: {} }],
  ])("%s", async (_, method, params) => {
    const answer = (await dispatcher.dispatch(call(method, params), legacy("2025-11-25"))) as any;
    expect(answer.error.code).toBe(-32602);
    expect(answer.error.message).not.toMatch(/^MCP error|invalid_type|zod/);
  });
});

test("the ask prompt writes the instruction, naming the tools and the question", async () => {
  const answer = (await dispatcher.dispatch(call("prompts/get", { name: "ask", arguments: { question: "How do I install it?" } }), legacy("2025-11-25"))) as any;
  const text = answer.result.messages[0].content.text as string;
  expect(text).toContain("search tool");
  expect(text).toContain("fetch tool");
  expect(text).toEndWith("Question: How do I install it?");
});
