/**
 * Abuse limits and authentication, on the real server in-process. Every
 * client here is 127.0.0.1, so the per-client caps are the same one client.
 *
 * Each cap is shown three ways: it refuses (429 or 503, with Retry-After and
 * a JSON-RPC error), it is freed when the client lets go (DELETE, a dropped
 * stream, a finished or abandoned upload), and it is freed when the server
 * lets go (idle expiry, a session it ends, the idle timeout). Waits are
 * bounded polls, never timing assertions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { startTestServer, toolJson, type TestServer } from "../support/server.ts";

const ACCEPT_BOTH = "application/json, text/event-stream";
const JSON_HEADERS = { "content-type": "application/json", accept: ACCEPT_BOTH };
const TOKEN = "test-token-0123456789abcdef";

// ---------------------------------------------------------------- helpers

const initializeBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "limits", version: "1.0.0" } },
});

/** Polls `check` until it returns true; fails after `bound` ms. A bound, not a timing claim. */
async function eventually(what: string, check: () => Promise<boolean>, bound = 15_000): Promise<void> {
  const deadline = Date.now() + bound;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not true after ${bound} ms: ${what}`);
    await Bun.sleep(25);
  }
}

/** Asserts a refusal: status, Retry-After, and a JSON-RPC error body. */
async function expectRefused(response: Response, status: 429 | 503): Promise<void> {
  expect(response.status).toBe(status);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = await response.json();
  expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
  expect(body.error.message).toMatch(/Too many/);
}

class Api {
  constructor(readonly base: string) {}

  /** Opens a Streamable HTTP session: its id, or the refusal. */
  async openSession(): Promise<{ id?: string; response: Response }> {
    const response = await fetch(`${this.base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: initializeBody });
    const id = response.headers.get("mcp-session-id") ?? undefined;
    if (id) {
      await response.body?.cancel();
      await fetch(`${this.base}/mcp`, {
        method: "POST",
        headers: { ...JSON_HEADERS, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" },
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      });
    }
    return { id, response };
  }

  ping(id: string): Promise<Response> {
    return fetch(`${this.base}/mcp`, {
      method: "POST",
      headers: { ...JSON_HEADERS, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
    });
  }

  async deleteSession(id: string): Promise<void> {
    const response = await fetch(`${this.base}/mcp`, { method: "DELETE", headers: { "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" } });
    expect(response.status).toBe(200);
  }

  /** Opens an event stream (GET /sse, or GET /mcp on a session); the stream, or the refusal. */
  async openStream(sessionId?: string): Promise<Stream | Response> {
    const controller = new AbortController();
    const response = sessionId
      ? await fetch(`${this.base}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" }, signal: controller.signal })
      : await fetch(`${this.base}/sse`, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    if (response.status !== 200) return response;
    return new Stream(response, controller);
  }
}

class Stream {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  constructor(
    response: Response,
    private readonly controller: AbortController,
  ) {
    this.reader = response.body!.getReader();
  }
  /** The client goes away. */
  abort(): void {
    this.controller.abort();
  }
  /** Resolves once the server has ended the stream (bounded by the test timeout). */
  async ended(): Promise<void> {
    for (;;) {
      const { done } = await this.reader.read();
      if (done) return;
    }
  }
}

/** A POST whose body is never finished: it stays in flight until we finish, abort, or the server closes it. */
function stalledPost(port: number, path = "/mcp"): { socket: Socket; closed: Promise<string>; finish: () => void } {
  const body = initializeBody;
  const head = body.slice(0, 20);
  let received = "";
  const socket = connect(port, "127.0.0.1", () => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: ${ACCEPT_BOTH}\r\nContent-Length: ${body.length}\r\n\r\n${head}`,
    );
  });
  socket.setEncoding("latin1");
  socket.on("data", (chunk) => (received += chunk));
  socket.on("error", () => {});
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
  return { socket, closed, finish: () => socket.end(body.slice(20)) };
}

/** Polls with ordinary requests until the request cap refuses one (the stalled ones have reached the server). */
async function untilRequestsRefused(api: Api): Promise<Response> {
  let refused: Response | undefined;
  await eventually("the request cap refuses", async () => {
    const response = await fetch(`${api.base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: "{}" });
    if (response.status === 429) return ((refused = response), true);
    await response.body?.cancel();
    return false;
  });
  return refused!;
}

async function untilRequestsAccepted(api: Api): Promise<void> {
  await eventually("the request cap has room again", async () => {
    const response = await fetch(`${api.base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: "{}" });
    await response.body?.cancel();
    return response.status !== 429;
  });
}

async function withServer(env: Record<string, string>, run: (server: TestServer, api: Api) => Promise<void>): Promise<void> {
  const server = await startTestServer(env);
  try {
    await run(server, new Api(`http://127.0.0.1:${server.port}`));
  } finally {
    await server[Symbol.asyncDispose]();
  }
}

// ---------------------------------------------------------------- sessions

describe("MCP_MAX_SESSIONS_PER_CLIENT", () => {
  test("refuses a session beyond the cap with 429 and frees a slot when the client ends one (DELETE, dropped SSE stream)", async () => {
    await withServer({ MCP_MAX_SESSIONS_PER_CLIENT: "2" }, async (_server, api) => {
      const first = await api.openSession();
      const legacy = await api.openStream();
      expect(first.id).toBeDefined();
      expect(legacy).toBeInstanceOf(Stream);

      await expectRefused((await api.openSession()).response, 429);
      await expectRefused((await api.openStream()) as Response, 429);
      // The refused attempts took nothing: the existing session still works.
      expect((await api.ping(first.id!)).status).toBe(200);

      // Client ends a Streamable HTTP session: its slot is free at once.
      await api.deleteSession(first.id!);
      const second = await api.openSession();
      expect(second.id).toBeDefined();
      await expectRefused((await api.openSession()).response, 429);

      // Client drops a legacy stream: its session, and slot, go with it.
      (legacy as Stream).abort();
      let third: string | undefined;
      await eventually("a slot is free after the SSE client left", async () => {
        third = (await api.openSession()).id;
        return third !== undefined;
      });
      await expectRefused((await api.openSession()).response, 429);
    });
  });

  test("the server expiring an idle session frees its slot; the expired id is 404", async () => {
    await withServer({ MCP_MAX_SESSIONS_PER_CLIENT: "1", MCP_SESSION_IDLE: "2s" }, async (_server, api) => {
      const first = await api.openSession();
      expect(first.id).toBeDefined();
      // Unused sessions are still in use until they expire: the cap holds meanwhile.
      await expectRefused((await api.openSession()).response, 429);

      // No request on `first` from here on (a request would keep it alive):
      // poll by trying to open another session, which does not touch it.
      let second: string | undefined;
      await eventually("the idle session expired and freed its slot", async () => {
        second = (await api.openSession()).id;
        return second !== undefined;
      });
      const expired = await api.ping(first.id!);
      expect(expired.status).toBe(404);
      expect((await expired.json()).error.code).toBe(-32001);
      expect((await api.ping(second!)).status).toBe(200);
    });
  });
});

describe("MCP_MAX_SESSIONS (whole server)", () => {
  test("a full table makes room: the least recently used idle session is closed, and its client starts over", async () => {
    await withServer({ MCP_MAX_SESSIONS: "2" }, async (server, api) => {
      const one = await api.openSession();
      const two = await api.openSession();
      expect(one.id && two.id).toBeTruthy();
      expect((await api.ping(one.id!)).status).toBe(200); // `two` is now the least recently used
      const three = await api.openSession();
      expect(three.id).toBeTruthy();
      expect((await api.ping(two.id!)).status).toBe(404);
      expect((await api.ping(one.id!)).status).toBe(200);
      expect((await api.ping(three.id!)).status).toBe(200);
      // Legacy SSE sessions share the table and make room the same way.
      const legacy = await api.openStream();
      expect(legacy).toBeInstanceOf(Stream);
      expect((await api.ping(one.id!)).status).toBe(404);
      (legacy as Stream).abort();
      // One log line however many were closed, the rest counted in the next.
      for (let i = 0; i < 5; i++) expect((await api.openSession()).id).toBeTruthy();
      expect(server.logs.filter((line) => line.includes("session table full")).length).toBe(1);
    });
  });

  test("only when every session is answering a request does a new one get 503 with Retry-After", async () => {
    // A source that never answers: a tool call then waits for the documentation, keeping its session busy.
    const hung = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      await withServer({ MCP_MAX_SESSIONS: "1", MCP_DOCS_SOURCE: `http://127.0.0.1:${hung.port}/index.json` }, async (server, api) => {
        const one = await api.openSession();
        const waiting = fetch(`${api.base}/mcp`, {
          method: "POST",
          headers: { ...JSON_HEADERS, "mcp-session-id": one.id!, "mcp-protocol-version": "2025-11-25" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "search", arguments: { query: "x" } } }),
        });
        await Bun.sleep(200);
        await expectRefused((await api.openSession()).response, 503);
        expect(server.logs.some((line) => line.includes("new session refused") && line.includes("every session busy"))).toBe(true);
        await (await waiting).text();
        // Free again once it was answered: the next newcomer gets in.
        expect((await api.openSession()).id).toBeTruthy();
      });
    } finally {
      hung.stop(true);
    }
  }, 60_000);
});

describe("MCP_SESSION_IDLE", () => {
  test("an idle session expires (404 afterwards) while a used one lives on", async () => {
    await withServer({ MCP_SESSION_IDLE: "2s" }, async (_server, api) => {
      const idle = await api.openSession();
      const busy = await api.openSession();
      const streamed = await api.openSession();
      const stream = (await api.openStream(streamed.id)) as Stream;
      expect(stream).toBeInstanceOf(Stream);
      // Keep `busy` busy all along: only requests count as use.
      let waiting = true;
      const keepBusy = (async () => {
        while (waiting) {
          expect((await api.ping(busy.id!)).status).toBe(200);
          await Bun.sleep(100);
        }
      })();
      try {
        // The server ends the idle session's event stream when it expires it.
        await stream.ended();
        await eventually("the idle session is gone", async () => {
          const response = await fetch(`${api.base}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": idle.id!, "mcp-protocol-version": "2025-11-25" } });
          await response.body?.cancel();
          return response.status === 404;
        });
      } finally {
        waiting = false;
        await keepBusy;
      }
      expect((await api.ping(idle.id!)).status).toBe(404);
      expect((await api.ping(streamed.id!)).status).toBe(404);
      expect((await api.ping(busy.id!)).status).toBe(200);
    });
  });
});

// ---------------------------------------------------------------- streams

describe("MCP_MAX_STREAMS_PER_CLIENT", () => {
  test("refuses a stream beyond the cap with 429; a client disconnect frees it, and so does the server ending the stream", async () => {
    await withServer({ MCP_MAX_STREAMS_PER_CLIENT: "2" }, async (_server, api) => {
      const session = await api.openSession();
      const legacy = await api.openStream();
      const standalone = await api.openStream(session.id);
      expect(legacy).toBeInstanceOf(Stream);
      expect(standalone).toBeInstanceOf(Stream);

      await expectRefused((await api.openStream()) as Response, 429);
      const other = await api.openSession();
      await expectRefused((await api.openStream(other.id)) as Response, 429);
      // Plain requests are not streams: still answered.
      expect((await api.ping(session.id!)).status).toBe(200);

      // The client goes away.
      (legacy as Stream).abort();
      let replacement: Stream | Response | undefined;
      await eventually("a stream slot is free after the client disconnected", async () => {
        replacement = await api.openStream();
        if (replacement instanceof Stream) return true;
        await replacement.body?.cancel();
        return false;
      });
      await expectRefused((await api.openStream()) as Response, 429);

      // The server ends a stream (its session is deleted).
      await api.deleteSession(session.id!);
      await (standalone as Stream).ended();
      let afterServerClose: Stream | Response | undefined;
      await eventually("a stream slot is free after the server ended the stream", async () => {
        afterServerClose = await api.openStream(other.id);
        if (afterServerClose instanceof Stream) return true;
        await afterServerClose.body?.cancel();
        return false;
      });
      await expectRefused((await api.openStream()) as Response, 429);
      (replacement as Stream).abort();
      (afterServerClose as Stream).abort();
    });
  });
});

describe("GET /mcp event stream", () => {
  test("is open for the client before any event: its header block is sent at once", async () => {
    // Bun sends a streamed response's headers with the first body chunk; the
    // SDK writes nothing on this stream before its first keep-alive (15 s).
    // Ending the stream before that shows what the client had: with the bug,
    // an empty `Content-Length: 0` reply and no stream at all.
    await withServer({}, async (server, api) => {
      const session = await api.openSession();
      let received = "";
      const socket = connect(server.port, "127.0.0.1", () =>
        socket.write(
          `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${session.id}\r\nMcp-Protocol-Version: 2025-11-25\r\nConnection: close\r\n\r\n`,
        ),
      );
      socket.setEncoding("latin1");
      const firstData = new Promise<void>((resolve) => socket.once("data", () => resolve()));
      socket.on("data", (chunk) => (received += chunk));
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      await firstData;
      await api.deleteSession(session.id!);
      await closed;
      const [head, body = ""] = received.split("\r\n\r\n", 2);
      expect(head).toStartWith("HTTP/1.1 200");
      expect(head!.toLowerCase()).toContain("content-type: text/event-stream");
      expect(head!.toLowerCase()).not.toContain("content-length: 0");
      // The stream had begun (an SSE comment, which clients ignore) before the server ended it.
      expect(body).toMatch(/^[0-9a-f]+\r\n:/);
    });
  });
});

// ---------------------------------------------------------------- requests in flight

describe("MCP_MAX_REQUESTS_PER_CLIENT", () => {
  test("refuses requests beyond the cap with 429 and frees slots when uploads finish or the client aborts", async () => {
    await withServer({ MCP_MAX_REQUESTS_PER_CLIENT: "2" }, async (_server, api) => {
      let uploads = [stalledPost(_server.port), stalledPost(_server.port)];
      await expectRefused(await untilRequestsRefused(api), 429);
      // Health and docs are not MCP endpoints: not capped.
      expect((await fetch(`${api.base}/healthz`)).status).toBe(200);

      // The client finishes its uploads: both are answered, and the slots free up.
      for (const upload of uploads) upload.finish();
      for (const upload of uploads) expect(await upload.closed).toMatch(/^HTTP\/1\.1 200/);
      await untilRequestsAccepted(api);

      // The client gives up mid-upload.
      uploads = [stalledPost(_server.port), stalledPost(_server.port)];
      await untilRequestsRefused(api);
      for (const upload of uploads) upload.socket.destroy();
      await untilRequestsAccepted(api);
    });
  });

  test("the server closing a stalled upload (MCP_IDLE_TIMEOUT) frees its slot", async () => {
    await withServer({ MCP_MAX_REQUESTS_PER_CLIENT: "2", MCP_IDLE_TIMEOUT: "2s" }, async (server, api) => {
      const uploads = [stalledPost(server.port), stalledPost(server.port)];
      await expectRefused(await untilRequestsRefused(api), 429);
      // We never finish nor abort them: the server does.
      for (const upload of uploads) expect(await upload.closed).not.toMatch(/^HTTP\/1\.1 5/);
      await untilRequestsAccepted(api);
      expect((await api.openSession()).id).toBeDefined();
    });
  });
});

// ---------------------------------------------------------------- authentication

describe("MCP_AUTH_TOKEN", () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer({ MCP_AUTH_TOKEN: TOKEN });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  const guarded: [string, RequestInit][] = [
    ["/mcp", { method: "POST", headers: JSON_HEADERS, body: initializeBody }],
    ["/mcp", { method: "GET", headers: { accept: "text/event-stream" } }],
    ["/mcp", { method: "DELETE", headers: { "mcp-session-id": "x" } }],
    ["/sse", { method: "GET", headers: { accept: "text/event-stream" } }],
    ["/message?sessionId=x", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }],
    ["/docs/getting-started", {}],
    ["/docs/x", {}],
    ["/llms.txt", {}],
    ["/llms-full.txt", {}],
    ["/", {}],
    ["/", { headers: { accept: "text/html" } }],
  ];

  test.each(guarded)("%s without a token is 401 with WWW-Authenticate", async (path, init) => {
    const response = await fetch(base + path, init);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="mcp-server"/);
    // Nothing of the documentation leaks.
    expect(await response.text()).not.toContain("mcp-server user guide");
  });

  test.each(guarded)("%s with a wrong token is 401 (invalid_token)", async (path, init) => {
    for (const token of [`${TOKEN}x`, TOKEN.slice(0, -1), TOKEN.toUpperCase(), "a"]) {
      const response = await fetch(base + path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  test("a malformed Authorization header is refused (400 invalid_request, RFC 6750) with WWW-Authenticate", async () => {
    for (const authorization of [`Basic ${btoa(`user:${TOKEN}`)}`, `Bearer`, `Bearer ${TOKEN} extra`, TOKEN]) {
      const response = await fetch(`${base}/llms.txt`, { headers: { authorization } });
      expect([400, 401]).toContain(response.status);
      expect(response.headers.get("www-authenticate")).toStartWith("Bearer");
    }
  });

  test("the right token opens the documentation routes", async () => {
    const authorization = `Bearer ${TOKEN}`;
    for (const path of ["/llms.txt", "/docs/getting-started", "/"]) {
      expect((await fetch(base + path, { headers: { authorization } })).status).toBe(200);
    }
    // The scheme name is case-insensitive (RFC 9110).
    expect((await fetch(`${base}/llms.txt`, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  test("/healthz and public /metrics stay open", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("mcp_http_requests_total");
  });

  test("the SDK clients work with the token (Streamable HTTP and legacy SSE), and fail without it", async () => {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    const streamable = new Client({ name: "limits", version: "1.0.0" });
    await streamable.connect(new StreamableHTTPClientTransport(new URL("/mcp", base), { requestInit: { headers } }));
    const found = toolJson(await streamable.callTool({ name: "search", arguments: { query: "bearer token" } }));
    expect(found.results.length).toBeGreaterThan(0);
    const page = toolJson(await streamable.callTool({ name: "fetch", arguments: { id: found.results[0].id } }));
    expect(page.text.length).toBeGreaterThan(0);
    await streamable.close();

    const sse = new Client({ name: "limits", version: "1.0.0" });
    await sse.connect(
      new SSEClientTransport(new URL("/sse", base), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
      }),
    );
    expect((await sse.listTools()).tools.map((tool) => tool.name)).toEqual(["search", "fetch"]);
    await sse.close();

    const anonymous = new Client({ name: "limits", version: "1.0.0" });
    const refused = await anonymous.connect(new StreamableHTTPClientTransport(new URL("/mcp", base))).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(String(refused)).toMatch(/401|Unauthorized/i);
  });
});

describe("MCP_METRICS", () => {
  test("private: /metrics needs the token", async () => {
    await withServer({ MCP_AUTH_TOKEN: TOKEN, MCP_METRICS: "private" }, async (_server, api) => {
      const anonymous = await fetch(`${api.base}/metrics`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toStartWith("Bearer");
      expect((await fetch(`${api.base}/metrics`, { headers: { authorization: "Bearer nope-nope-nope" } })).status).toBe(401);
      const allowed = await fetch(`${api.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain("mcp_sessions_open");
      expect((await fetch(`${api.base}/healthz`)).status).toBe(200);
    });
  });

  test("off: /metrics is 404, with or without a token", async () => {
    await withServer({ MCP_METRICS: "off" }, async (_server, api) => {
      expect((await fetch(`${api.base}/metrics`)).status).toBe(404);
      expect((await fetch(`${api.base}/healthz`)).status).toBe(200);
    });
    await withServer({ MCP_METRICS: "off", MCP_AUTH_TOKEN: TOKEN }, async (_server, api) => {
      expect((await fetch(`${api.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    });
  });

  test("public (the default): /metrics is open", async () => {
    await withServer({}, async (_server, api) => {
      expect((await fetch(`${api.base}/metrics`)).status).toBe(200);
    });
  });
});
