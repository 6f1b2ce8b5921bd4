/**
 * Bad input on every MCP entry point: each case gets the right HTTP status
 * and, where MCP 2025-11-25 (transports) says the body may carry one, a
 * JSON-RPC error object without an id. And bad input changes nothing: two
 * witness sessions (one per transport) opened before any case are checked
 * after every case, and the session the bad input was sent on keeps working.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { connectClient, startTestServer, toolJson, toolText, type TestServer } from "../support/server.ts";

const MAX_BODY = 256 * 1024;
const ACCEPT_BOTH = "application/json, text/event-stream";
const JSON_HEADERS = { "content-type": "application/json", accept: ACCEPT_BOTH };

let server: TestServer;
let base: string;
let witnesses: { streamable: Client; sse: Client };

beforeAll(async () => {
  server = await startTestServer({ MCP_MAX_BODY: "256k" });
  base = `http://127.0.0.1:${server.port}`;
  witnesses = { streamable: await connectClient(new URL(base), "streamable"), sse: await connectClient(new URL(base), "sse") };
});
afterAll(async () => {
  await witnesses?.streamable.close();
  await witnesses?.sse.close();
  await server?.[Symbol.asyncDispose]();
});

// "Changes nothing": the sessions opened before every case still answer.
afterEach(async () => {
  for (const client of [witnesses.streamable, witnesses.sse]) {
    await client.ping();
    const result = await client.callTool({ name: "search", arguments: { query: "request body size" } });
    expect(result.isError).toBeFalsy();
    expect(toolJson(result).results.length).toBeGreaterThan(0);
  }
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
});

// ---------------------------------------------------------------- helpers

interface RpcError {
  jsonrpc: string;
  error: { code: number; message: string };
  id: unknown;
}

/** Asserts a JSON-RPC error body without id, with this code (any, if not given); returns it. */
async function expectRpcError(response: Response, status: number, code?: number): Promise<RpcError> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  const body = JSON.parse(text) as RpcError;
  expect(body.jsonrpc).toBe("2.0");
  expect(body.id).toBeNull();
  if (code === undefined) expect(Number.isInteger(body.error.code)).toBe(true);
  else expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  return body;
}

/** The JSON-RPC messages of an event-stream (or JSON) response body. */
async function messagesOf(response: Response): Promise<any[]> {
  const text = await response.text();
  if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) return [JSON.parse(text)];
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice("data: ".length)));
}

const initializeMessage = (protocolVersion: string, id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "hardening", version: "1.0.0" } },
});

const raw = (body: unknown): BodyInit => (typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body));

/** A raw Streamable HTTP session negotiated at `version`. */
class RawSession {
  constructor(
    readonly id: string,
    readonly version: string,
  ) {}

  static async open(version: string): Promise<RawSession> {
    const response = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(initializeMessage(version)) });
    expect(response.status).toBe(200);
    const [init] = await messagesOf(response);
    expect(init.result.protocolVersion).toBe(version);
    const session = new RawSession(response.headers.get("mcp-session-id")!, version);
    expect((await session.post({ jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202);
    return session;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...JSON_HEADERS, "mcp-session-id": this.id, "mcp-protocol-version": this.version, ...extra };
  }

  /** Strings and bytes are sent as they are, anything else as JSON. */
  post(body: unknown, extra: Record<string, string> = {}): Promise<Response> {
    return fetch(`${base}/mcp`, { method: "POST", headers: this.headers(extra), body: raw(body) });
  }

  /** The session still answers a request (bad input before it changed nothing). */
  async expectAlive(): Promise<void> {
    const response = await this.post({ jsonrpc: "2.0", id: "alive", method: "tools/list" });
    expect(response.status).toBe(200);
    const [message] = await messagesOf(response);
    expect(message.id).toBe("alive");
    expect(message.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["search", "fetch"]);
  }

  async close(): Promise<void> {
    await fetch(`${base}/mcp`, { method: "DELETE", headers: this.headers() });
  }
}

/** A raw legacy HTTP+SSE session: its event stream, read event by event. */
class LegacySession {
  readonly #decoder = new TextDecoder();
  #buffer = "";

  private constructor(
    readonly endpoint: string,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly controller: AbortController,
  ) {}

  static async open(version?: string): Promise<LegacySession> {
    const controller = new AbortController();
    const response = await fetch(`${base}/sse`, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const session = new LegacySession("", reader, controller);
    const first = await session.nextEvent();
    expect(first.event).toBe("endpoint");
    const opened = new LegacySession(new URL(first.data, base).href, reader, controller);
    opened.#buffer = session.#buffer;
    if (version) {
      expect((await opened.post(initializeMessage(version, "init"))).status).toBe(202);
      const init = await opened.nextMessage("init");
      expect(init.result.protocolVersion).toBe(version);
      expect((await opened.post({ jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202);
    }
    return opened;
  }

  post(body: unknown, headers: Record<string, string> = { "content-type": "application/json" }): Promise<Response> {
    return fetch(this.endpoint, { method: "POST", headers, body: raw(body) });
  }

  async nextEvent(): Promise<{ event: string; data: string }> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        if (block.startsWith(":")) continue; // keep-alive comment
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
        return { event, data };
      }
      const { value, done } = await this.reader.read();
      if (done) throw new Error("event stream ended");
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** The next JSON-RPC message with this id (others are skipped). */
  async nextMessage(id: unknown): Promise<any> {
    for (;;) {
      const { event, data } = await this.nextEvent();
      if (event !== "message") continue;
      const message = JSON.parse(data);
      if (message.id === id) return message;
    }
  }

  async expectAlive(): Promise<void> {
    expect((await this.post({ jsonrpc: "2.0", id: "alive", method: "tools/list" })).status).toBe(202);
    const message = await this.nextMessage("alive");
    expect(message.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["search", "fetch"]);
  }

  close(): void {
    this.controller.abort();
  }
}

/** One raw HTTP/1.1 request over a socket, so the path reaches the server exactly as written. */
function rawRequest(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(head));
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
  });
}

/** A body that arrives in chunks with no Content-Length (Transfer-Encoding: chunked). */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const chunk = new TextEncoder().encode(" ".repeat(Math.min(16 * 1024, bytes - sent)));
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

const garbage = (size: number, seed: number): Uint8Array<ArrayBuffer> => {
  // Deterministic bytes, with a few invalid UTF-8 sequences for certain.
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes.set([0xff, 0xfe, 0xc0, 0x80], 0);
  return bytes;
};

// ---------------------------------------------------------------- /mcp

describe("Streamable HTTP (/mcp)", () => {
  let session: RawSession;
  beforeAll(async () => {
    session = await RawSession.open("2025-11-25");
  });
  afterEach(async () => {
    await session.expectAlive();
  });

  test("malformed JSON is 400 with -32700", async () => {
    for (const body of ["{not json", '{"jsonrpc":"2.0","id":1,"method":"ping"', "", "[", "\u0000"]) {
      await expectRpcError(await session.post(body), 400, -32700);
    }
  });

  test("valid JSON that is not JSON-RPC is 400 with -32600 (Invalid Request)", async () => {
    for (const body of [{ hello: "world" }, 42, "text", null, { jsonrpc: "1.0", id: 1, method: "ping" }, { jsonrpc: "2.0", id: {}, method: "ping" }, [], [1, 2]]) {
      await expectRpcError(await session.post(JSON.stringify(body)), 400, -32600);
    }
  });

  test("a batch on a 2025-06-18 or later session is 400 with -32600 naming the version; nothing in it runs", async () => {
    const batch = [
      { jsonrpc: "2.0", id: 10, method: "ping" },
      { jsonrpc: "2.0", id: 11, method: "tools/list" },
    ];
    const body = await expectRpcError(await session.post(batch), 400, -32600);
    expect(body.error.message).toContain("batches are not supported in protocol version 2025-11-25");

    const older = await RawSession.open("2025-06-18");
    try {
      const refused = await expectRpcError(await older.post(batch), 400, -32600);
      expect(refused.error.message).toContain("batches are not supported in protocol version 2025-06-18");
      // A batch of one is a batch too.
      await expectRpcError(await older.post([batch[0]]), 400, -32600);
      await older.expectAlive();
    } finally {
      await older.close();
    }
  });

  test("a 2025-03-26 session may still send batches, and gets every answer", async () => {
    const legacy = await RawSession.open("2025-03-26");
    try {
      const response = await legacy.post([
        { jsonrpc: "2.0", id: 20, method: "ping" },
        { jsonrpc: "2.0", id: 21, method: "tools/call", params: { name: "search", arguments: { query: "limits" } } },
        { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 999 } },
      ]);
      expect(response.status).toBe(200);
      const answers = await messagesOf(response);
      expect(answers.map((message) => message.id).sort()).toEqual([20, 21]);
      expect(answers.find((message) => message.id === 21).result.isError).toBeFalsy();
      // The version that decides is the session's, not a header the client could vary.
      const again = await legacy.post([{ jsonrpc: "2.0", id: 22, method: "ping" }], { "mcp-protocol-version": "2025-03-26" });
      expect(again.status).toBe(200);
    } finally {
      await legacy.close();
    }
  });

  test("initialize inside a batch is refused at 2025-06-18 or later, and opens no session", async () => {
    const before = (await (await fetch(`${base}/healthz`)).json()).sessions.streamable;
    for (const version of ["2025-11-25", "2025-06-18", "2099-01-01" /* unsupported: the server would answer its latest */]) {
      const response = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify([initializeMessage(version)]) });
      expect(response.headers.get("mcp-session-id")).toBeNull();
      await expectRpcError(response, 400, -32600);
    }
    expect((await (await fetch(`${base}/healthz`)).json()).sessions.streamable).toBe(before);
  });

  test("a wrong or missing Content-Type is 415", async () => {
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "text/plain; a=application/json", "application/jsonp", ""]) {
      const headers = session.headers({ "content-type": type });
      if (type === "") delete headers["content-type"];
      await expectRpcError(await fetch(`${base}/mcp`, { method: "POST", headers, body: ping }), 415, -32000);
    }
    // Parameters are fine.
    expect((await session.post(ping, { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });

  test("a missing or incomplete Accept is 406, on POST and on GET", async () => {
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    for (const accept of ["application/json", "text/event-stream", "text/html", "*/*"]) {
      await expectRpcError(await session.post(ping, { accept }), 406, -32000);
    }
    const headers = session.headers();
    delete headers.accept;
    // fetch adds `Accept: */*` when none is given: still not acceptable.
    await expectRpcError(await fetch(`${base}/mcp`, { method: "POST", headers, body: ping }), 406, -32000);
    await expectRpcError(await fetch(`${base}/mcp`, { headers: session.headers({ accept: "application/json" }) }), 406, -32000);
  });

  test("an unknown method is a JSON-RPC -32601 error in a 200 response", async () => {
    const response = await session.post({ jsonrpc: "2.0", id: 7, method: "no/such/method", params: {} });
    expect(response.status).toBe(200);
    const [message] = await messagesOf(response);
    expect(message).toMatchObject({ jsonrpc: "2.0", id: 7, error: { code: -32601 } });
    // A notification of an unknown method is accepted and ignored.
    expect((await session.post({ jsonrpc: "2.0", method: "notifications/no-such-thing" })).status).toBe(202);
  });

  test("an unknown or ended session id is 404 (-32001) for POST, GET and DELETE", async () => {
    const ended = await RawSession.open("2025-11-25");
    await ended.close();
    for (const id of [crypto.randomUUID(), "not-a-uuid", ended.id, "x".repeat(1000)]) {
      const headers = session.headers({ "mcp-session-id": id });
      await expectRpcError(await fetch(`${base}/mcp`, { method: "POST", headers, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }), 404, -32001);
      await expectRpcError(await fetch(`${base}/mcp`, { headers }), 404, -32001);
      await expectRpcError(await fetch(`${base}/mcp`, { method: "DELETE", headers }), 404, -32001);
    }
  });

  test("an oversize body is 413, with Content-Length and without it", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search", arguments: { query: "a ".repeat(MAX_BODY) } } });
    await expectRpcError(await session.post(big), 413);
    const chunked = await fetch(`${base}/mcp`, { method: "POST", headers: session.headers(), body: chunkedBody(MAX_BODY + 1), duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error.message).toContain(String(MAX_BODY));
    // And a new session's initialize, too.
    const init = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: chunkedBody(MAX_BODY + 1), duplex: "half" } as RequestInit);
    expect(init.status).toBe(413);
    expect(init.headers.get("mcp-session-id")).toBeNull();
  });

  test("a 100 KB search query gets a normal result, not an error", async () => {
    const words = ["limit", "body", "size", "session", "token", "search", "certificate", "renewal", "how", "do", "I"];
    let query = "";
    for (let i = 0; query.length < 100 * 1024; i++) query += `${words[i % words.length]}${i % 13 === 0 ? i : ""} `;
    const response = await session.post({ jsonrpc: "2.0", id: 30, method: "tools/call", params: { name: "search", arguments: { query } } });
    expect(response.status).toBe(200);
    const [message] = await messagesOf(response);
    expect(message.result.isError).toBeFalsy();
    expect(toolJson(message.result).results.length).toBeGreaterThan(0);
    // Through the SDK clients of both transports as well.
    for (const client of [witnesses.streamable, witnesses.sse]) {
      const result = await client.callTool({ name: "search", arguments: { query } });
      expect(result.isError).toBeFalsy();
      expect(toolJson(result).results.length).toBeGreaterThan(0);
    }
  });

  test("binary garbage is refused with a 4xx", async () => {
    for (const [i, size] of [16, 1024, 64 * 1024].entries()) {
      await expectRpcError(await session.post(garbage(size, i)), 400, -32700);
      const typed = await fetch(`${base}/mcp`, { method: "POST", headers: session.headers({ "content-type": "application/octet-stream" }), body: garbage(size, i) });
      expect(typed.status).toBe(415);
      const fresh = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: garbage(size, i + 10) });
      expect(fresh.status).toBeGreaterThanOrEqual(400);
      expect(fresh.status).toBeLessThan(500);
      expect(fresh.headers.get("mcp-session-id")).toBeNull();
    }
  });

  test("tool calls with wrong arguments are tool errors; calls that name no tool of ours are -32602", async () => {
    const calls: [Record<string, unknown>, "tool error" | number][] = [
      [{ name: "search", arguments: { query: 42 } }, "tool error"],
      [{ name: "search", arguments: { query: "x", limit: -1 } }, "tool error"],
      [{ name: "search", arguments: null }, "tool error"],
      [{ name: "fetch", arguments: { id: ["a"] } }, "tool error"],
      [{ name: "fetch", arguments: { id: "../../../etc/passwd" } }, "tool error"],
      // The params break the call itself: Invalid params, with a plain message.
      [{ name: 42, arguments: {} }, -32602],
      [{ arguments: {} }, -32602],
      [{ name: "search", arguments: ["q"] }, -32602],
      [{ name: "nope", arguments: {} }, -32602],
    ];
    for (const [i, [params, expected]] of calls.entries()) {
      const response = await session.post({ jsonrpc: "2.0", id: 100 + i, method: "tools/call", params });
      expect(response.status).toBe(200);
      const [message] = await messagesOf(response);
      expect(message.id).toBe(100 + i);
      const outcome = message.result?.isError === true ? "tool error" : message.error?.code;
      expect({ params, outcome }).toEqual({ params, outcome: expected });
      if (message.error) expect(message.error.message).not.toMatch(/invalid_type|"path"|zod/i);
      expect(JSON.stringify(message)).not.toContain("root:");
    }
  });
});

// ---------------------------------------------------------------- /message

describe("legacy HTTP+SSE (/message)", () => {
  let legacy: LegacySession;
  beforeAll(async () => {
    legacy = await LegacySession.open("2025-11-25");
  });
  afterAll(() => legacy?.close());
  afterEach(async () => {
    await legacy.expectAlive();
  });

  test("malformed JSON is 400 with -32700", async () => {
    for (const body of ["{not json", '{"jsonrpc":"2.0","id":1', ""]) {
      await expectRpcError(await legacy.post(body), 400, -32700);
    }
  });

  test("valid JSON that is not JSON-RPC is 400 with -32600", async () => {
    for (const body of [{ hello: "world" }, 42, "text", null, [], { jsonrpc: "2.0", id: 1 }]) {
      await expectRpcError(await legacy.post(JSON.stringify(body)), 400, -32600);
    }
  });

  test("a batch is refused (-32600) on a session negotiated at 2025-06-18 or later, and accepted on an older one", async () => {
    const refused = await expectRpcError(await legacy.post([{ jsonrpc: "2.0", id: 40, method: "ping" }]), 400, -32600);
    expect(refused.error.message).toContain("batches are not supported in protocol version 2025-11-25");

    for (const version of ["2025-03-26", "2024-11-05"]) {
      const old = await LegacySession.open(version);
      try {
        const response = await old.post([
          { jsonrpc: "2.0", id: 41, method: "ping" },
          { jsonrpc: "2.0", id: 42, method: "tools/list" },
        ]);
        expect(response.status).toBe(202);
        expect((await old.nextMessage(41)).result).toEqual({});
        expect((await old.nextMessage(42)).result.tools).toHaveLength(2);
      } finally {
        old.close();
      }
    }
  });

  test("a wrong or missing Content-Type is 415", async () => {
    for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }, {}] as Record<string, string>[]) {
      await expectRpcError(await legacy.post('{"jsonrpc":"2.0","id":1,"method":"ping"}', headers), 415, -32000);
    }
  });

  test("an unknown method is accepted (202) and answered with -32601 on the event stream", async () => {
    expect((await legacy.post({ jsonrpc: "2.0", id: 50, method: "no/such/method" })).status).toBe(202);
    expect(await legacy.nextMessage(50)).toMatchObject({ jsonrpc: "2.0", id: 50, error: { code: -32601 } });
  });

  test("an unknown, ended or missing session id is refused (404, 404, 400)", async () => {
    const ended = await LegacySession.open();
    ended.close();
    const ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    const post = (url: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: ping });
    await expectRpcError(await post(`${base}/message?sessionId=${crypto.randomUUID()}`), 404, -32001);
    // The ended session's id stops working once the server has seen the disconnect.
    let status = 0;
    for (let i = 0; i < 100 && status !== 404; i++) {
      const response = await post(ended.endpoint);
      status = response.status;
      await response.body?.cancel();
      if (status !== 404) await Bun.sleep(20);
    }
    expect(status).toBe(404);
    // A Streamable HTTP session id is not a legacy one.
    const other = await RawSession.open("2025-11-25");
    await expectRpcError(await post(`${base}/message?sessionId=${other.id}`), 404, -32001);
    await other.close();
    await expectRpcError(await post(`${base}/message`), 400, -32000);
  });

  test("an oversize body is 413, with Content-Length and without it", async () => {
    const big = await legacy.post("x".repeat(MAX_BODY + 1));
    expect(big.status).toBe(413);
    expect((await big.json()).error.message).toContain(String(MAX_BODY));
    const chunked = await fetch(legacy.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunkedBody(MAX_BODY + 1),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  test("binary garbage is refused with a 4xx", async () => {
    for (const [i, size] of [16, 4096, 64 * 1024].entries()) {
      await expectRpcError(await legacy.post(garbage(size, i)), 400, -32700);
      const typed = await legacy.post(garbage(size, i), { "content-type": "application/octet-stream" });
      expect(typed.status).toBe(415);
    }
  });
});

// ---------------------------------------------------------------- documentation paths and URIs

describe("documentation paths and docs:// URIs never leave the index", () => {
  const paths = [
    "/docs/..%2f..%2fetc%2fpasswd",
    "/docs/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/docs/%2e%2e/x",
    "/docs/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/docs/../../etc/passwd",
    "/docs/..\\..\\etc\\passwd",
    "/docs/%5c..%5c..%5cetc%5cpasswd",
    "/docs/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/docs/%",
    "/docs/%zz",
    "/docs/%E0%A4%A",
    "/docs/abc%",
    "/docs/a%00b",
    "/docs/%00",
    "/docs//etc/passwd",
    "/docs/getting-started/../../../../etc/passwd",
    // (`/docs/..` itself is `/` by URL rules: the status page, not a file.)
    "/docs/.",
    "/docs/...",
    `/docs/${"a/".repeat(400)}b`,
  ];

  test("a real page is served (control)", async () => {
    const response = await fetch(`${base}/docs/getting-started`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/markdown");
  });

  test.each(paths)("GET %s is 404, never 500 and never a file", async (path) => {
    const { status, text } = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    // Bun's parser may refuse a few forms outright (400); the app answers the rest 404.
    expect([404, 400]).toContain(status);
    if (status === 400) expect(path).toMatch(/%00|\\/);
    expect(text).not.toContain("root:");
    expect(text).not.toContain("/bin/");
  });

  test.each(paths)("fetch() of %s (client-normalised) is 404 too", async (path) => {
    const response = await fetch(base + path);
    expect([404, 400]).toContain(response.status);
    expect(await response.text()).not.toContain("root:");
  });

  test("docs:// URIs with .. are resource-not-found (-32002), never a file", async () => {
    const uris = [
      "docs://../../etc/passwd",
      "docs://..%2f..%2fetc%2fpasswd",
      "docs://getting-started/../../../etc/passwd",
      "docs://./getting-started",
      "docs:///etc/passwd",
      "docs://%2e%2e/etc/passwd",
      "docs://..",
      "file:///etc/passwd",
      "docs://" + "../".repeat(1000) + "etc/passwd",
    ];
    for (const client of [witnesses.streamable, witnesses.sse]) {
      for (const uri of uris) {
        const error = await client.readResource({ uri }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(McpError);
        expect((error as McpError).code).toBe(-32002);
        expect((error as McpError).message).not.toContain("root:");
      }
      // The fetch tool takes ids and docs:// URIs too.
      for (const id of ["../../etc/passwd", "docs://../../etc/passwd", "file:///etc/passwd", "/etc/passwd"]) {
        const result = await client.callTool({ name: "fetch", arguments: { id } });
        expect(result.isError).toBe(true);
        expect(toolText(result)).not.toContain("root:");
      }
      // Control: a real page is found by its URI.
      const page = await client.readResource({ uri: "docs://getting-started" });
      expect(page.contents[0]!.mimeType).toBe("text/markdown");
    }
  });
});

// ---------------------------------------------------------------- Host

describe("the Host header", () => {
  test("a value that is not a valid host[:port] is 400 everywhere, /healthz included, and logs no error", async () => {
    const before = server.logs.length;
    for (const host of ["localhost:99999", "localhost:abc", "local host", "[::1", "127.0.0.1:-1"]) {
      for (const path of ["/healthz", "/metrics", "/mcp", "/sse", "/message?sessionId=x", "/llms.txt", "/"]) {
        const { status, text } = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        expect({ host, path, status }).toEqual({ host, path, status: 400 });
        expect(text).not.toContain("internal error");
      }
    }
    expect(server.logs.slice(before).filter((line) => line.includes("level=error"))).toEqual([]);
    // Control: a port on a loopback name is fine.
    expect((await rawRequest(server.port, `GET /healthz HTTP/1.1\r\nHost: localhost:65535\r\nConnection: close\r\n\r\n`)).status).toBe(200);
  });
});

// ---------------------------------------------------------------- abandoned uploads

describe("an upload the client abandons midway", () => {
  test("is not a server error: nothing logged as an error, and the session is unharmed", async () => {
    const session = await RawSession.open("2025-11-25");
    const legacy = await LegacySession.open("2025-11-25");
    const before = server.logs.length;
    const targets = [
      { path: "/mcp", headers: `Accept: ${ACCEPT_BOTH}\r\n` },
      { path: "/mcp", headers: `Accept: ${ACCEPT_BOTH}\r\nMcp-Session-Id: ${session.id}\r\nMcp-Protocol-Version: 2025-11-25\r\n` },
      { path: new URL(legacy.endpoint).pathname + new URL(legacy.endpoint).search, headers: "" },
    ];
    for (const { path, headers } of targets) {
      for (const framing of ["Transfer-Encoding: chunked\r\n\r\n20\r\n{\"jsonrpc\":\"2.0\",", "Content-Length: 500\r\n\r\n{\"jsonrpc\":\"2.0\","]) {
        await new Promise<void>((resolve) => {
          const socket = connect(server.port, "127.0.0.1", () => {
            socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}${framing}`);
            // Let the server start reading the body, then hang up.
            setTimeout(() => socket.destroy(), 100);
          });
          socket.on("error", () => {});
          socket.on("close", () => resolve());
        });
      }
    }
    // The server has seen every hang-up once the next request on each is answered.
    await session.expectAlive();
    await legacy.expectAlive();
    expect(server.logs.slice(before).filter((line) => line.includes("level=error"))).toEqual([]);
    await session.close();
    legacy.close();
  });
});

// ---------------------------------------------------------------- stalled uploads

describe("a request that never finishes sending its body", () => {
  let slow: TestServer;
  let slowBase: string;
  beforeAll(async () => {
    slow = await startTestServer({ MCP_IDLE_TIMEOUT: "1s" });
    slowBase = `http://127.0.0.1:${slow.port}`;
  });
  afterAll(async () => {
    await slow?.[Symbol.asyncDispose]();
  });

  /** Sends headers and part of a body, then nothing; resolves when the server closes the socket. */
  function stall(path: string, headers: Record<string, string>): Promise<{ closedByServer: boolean; received: string }> {
    return new Promise((resolve, reject) => {
      let received = "";
      let closedByUs = false;
      const socket = connect(slow.port, "127.0.0.1", () => {
        const all: Record<string, string> = { Host: "127.0.0.1", "Content-Type": "application/json", "Content-Length": "4096", ...headers };
        const lines = Object.entries(all)
          .filter(([, v]) => v !== "")
          .map(([k, v]) => `${k}: ${v}`);
        const partial = '{"jsonrpc":"2.0","id":1,"method":"tools/ca';
        // Chunked: one chunk announced longer than what follows, so the body never completes.
        const body = all["Transfer-Encoding"] ? `400\r\n${partial}` : partial;
        socket.write(`POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n${body}`);
      });
      // Bound, not a timing assertion: a server that never closes fails the test instead of hanging it.
      const guard = setTimeout(() => {
        closedByUs = true;
        socket.destroy();
      }, 30_000);
      socket.setEncoding("latin1");
      socket.on("data", (chunk) => (received += chunk));
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(guard);
        resolve({ closedByServer: !closedByUs, received });
      });
    });
  }

  test("is closed after MCP_IDLE_TIMEOUT on /mcp and /message, and the server stays up", async () => {
    const before = await connectClient(new URL(slowBase), "streamable");
    const legacyResponse = await fetch(`${slowBase}/sse`);
    const reader = legacyResponse.body!.getReader();
    const endpoint = /data: (.*)/.exec(new TextDecoder().decode((await reader.read()).value))![1]!;

    const initResponse = await fetch(`${slowBase}/mcp`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(initializeMessage("2025-11-25")) });
    const sessionId = initResponse.headers.get("mcp-session-id")!;
    await initResponse.body?.cancel();

    const chunked = { "Content-Length": "", "Transfer-Encoding": "chunked" };
    const results = await Promise.all([
      stall("/mcp", { Accept: ACCEPT_BOTH }),
      stall("/mcp", { Accept: ACCEPT_BOTH, "Mcp-Session-Id": sessionId, "Mcp-Protocol-Version": "2025-11-25" }),
      stall(endpoint, {}),
      stall("/mcp", { Accept: ACCEPT_BOTH, ...chunked }),
      stall(endpoint, chunked),
    ]);
    for (const result of results) {
      expect(result.closedByServer).toBe(true);
      // Nothing was answered 5xx before the close.
      expect(result.received).not.toMatch(/^HTTP\/1\.1 5/);
    }

    expect((await fetch(`${slowBase}/healthz`)).status).toBe(200);
    await before.ping();
    expect(toolJson(await before.callTool({ name: "search", arguments: { query: "idle timeout" } })).results.length).toBeGreaterThan(0);
    await before.close();
    await reader.cancel();
    expect(slow.logs.filter((line) => line.includes("level=error"))).toEqual([]);
  });
});
