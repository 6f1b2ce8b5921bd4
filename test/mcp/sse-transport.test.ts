/**
 * End-to-end tests for WebStandardSSEServerTransport: a real `Bun.serve`
 * routing GET /sse and POST /message to it, driven by the SDK's own
 * `Client` + `SSEClientTransport` and by raw `fetch` for the wire details.
 */
import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { WebStandardSSEServerTransport } from '../../src/mcp/sse-transport.ts';

/** A fresh low-level MCP server with one `echo` tool, as a GET /sse would create. */
function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'sse-test', version: '0.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      {
        name: 'echo',
        description: 'Returns its `text` argument.',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    if (request.params.name !== 'echo') {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    }
    return { content: [{ type: 'text', text: String(request.params.arguments?.['text']) }] };
  });
  return server;
}

/** What the test server records, so tests can look at the server side of a session. */
interface Harness {
  base: string;
  sessions: Map<string, WebStandardSSEServerTransport>;
  /** How often `onclose` fired per session id; must never exceed 1. */
  closeCounts: Map<string, number>;
  /** `Content-Length` of the last POST /message, to prove a body really was sent without one. */
  lastPostContentLength(): string | null | undefined;
  stop(): void;
}

function startHarness(): Harness {
  const sessions = new Map<string, WebStandardSSEServerTransport>();
  const closeCounts = new Map<string, number>();
  let lastPostContentLength: string | null | undefined;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    // SSE streams are long-lived and quiet; keep-alives are tested explicitly.
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === 'GET' && url.pathname === '/sse') {
        // Test-only knobs, so one server covers every configuration.
        const keepAliveMs = url.searchParams.get('keepAliveMs');
        const maxBodyBytes = url.searchParams.get('maxBodyBytes');
        const transport = new WebStandardSSEServerTransport({
          endpoint: '/message',
          ...(keepAliveMs !== null && { keepAliveMs: Number(keepAliveMs) }),
          ...(maxBodyBytes !== null && { maxBodyBytes: Number(maxBodyBytes) }),
        });
        const id = transport.sessionId;
        sessions.set(id, transport);
        closeCounts.set(id, 0);
        transport.onclose = () => {
          closeCounts.set(id, (closeCounts.get(id) ?? 0) + 1);
          sessions.delete(id);
        };
        await createMcpServer().connect(transport);
        return transport.response(req.signal);
      }
      if (req.method === 'POST' && url.pathname === '/message') {
        lastPostContentLength = req.headers.get('content-length');
        const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
        if (!transport) return new Response('Unknown session', { status: 404 });
        return transport.handlePostMessage(req);
      }
      return new Response('Not found', { status: 404 });
    },
  });
  return {
    base: `http://127.0.0.1:${server.port}`,
    sessions,
    closeCounts,
    lastPostContentLength: () => lastPostContentLength,
    stop: () => void server.stop(true),
  };
}

/** A raw GET /sse read with fetch, for checking bytes on the wire. */
interface RawStream {
  response: Response;
  sessionId: string;
  /** Absolute POST URL announced by the endpoint event. */
  postUrl: string;
  /** Everything received so far. */
  received(): string;
  /** Reads until `predicate(received)` holds; throws after `timeoutMs`. */
  readUntil(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  abort(): void;
}

async function openRawStream(base: string, query = ''): Promise<RawStream> {
  const controller = new AbortController();
  const response = await fetch(`${base}/sse${query}`, {
    headers: { Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (!response.body) throw new Error('SSE response has no body');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';

  async function readUntil(predicate: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(text)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out; received so far: ${JSON.stringify(text)}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out; received: ${JSON.stringify(text)}`)), remaining);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), timeout]);
        if (done) throw new Error(`stream ended; received: ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      } finally {
        clearTimeout(timer);
      }
    }
    return text;
  }

  await readUntil((t) => t.includes('\n\n'));
  const match = /^event: endpoint\ndata: (\/message\?sessionId=([^\n]+))\n\n/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected first event: ${JSON.stringify(text)}`);
  return {
    response,
    sessionId: decodeURIComponent(match[2]),
    postUrl: new URL(match[1], base).href,
    received: () => text,
    readUntil,
    abort: () => controller.abort(),
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await Bun.sleep(10);
  }
}

const ping = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'ping' });

function post(url: string, body: BodyInit, contentType = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
}

describe('WebStandardSSEServerTransport over Bun.serve', () => {
  let h: Harness;
  beforeAll(() => {
    h = startHarness();
  });
  afterAll(() => h.stop());

  test('SDK client: connect, list tools, call a tool, ping, close', async () => {
    const client = new Client({ name: 'sse-test-client', version: '0.0.0' });
    const before = new Set(h.sessions.keys());
    await client.connect(new SSEClientTransport(new URL(`${h.base}/sse`)));
    const [id, ...others] = [...h.sessions.keys()].filter((k) => !before.has(k));
    expect(id).toBeDefined();
    expect(others).toHaveLength(0);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['echo']);

    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello over SSE' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello over SSE' }]);

    await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/Unknown tool/);
    expect(await client.ping()).toEqual({});

    await client.close();
    // The client's disconnect reaches the server as a cancelled stream.
    await waitFor(() => h.closeCounts.get(id ?? '') === 1);
    expect(h.sessions.has(id ?? '')).toBe(false);
  });

  test('first event is `endpoint` with a relative URL carrying the session id', async () => {
    const raw = await openRawStream(h.base);
    try {
      expect(raw.response.status).toBe(200);
      expect(raw.response.headers.get('content-type')).toStartWith('text/event-stream');
      expect(raw.response.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(raw.response.headers.get('x-accel-buffering')).toBe('no');
      expect(raw.received()).toBe(`event: endpoint\ndata: /message?sessionId=${raw.sessionId}\n\n`);
      expect(raw.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(h.sessions.has(raw.sessionId)).toBe(true);
    } finally {
      raw.abort();
    }
  });

  test('a raw POST is answered 202 and its response arrives as `event: message`', async () => {
    const raw = await openRawStream(h.base);
    try {
      const res = await post(raw.postUrl, JSON.stringify(ping(7)));
      expect(res.status).toBe(202);
      const text = await raw.readUntil((t) => t.includes('"id":7'));
      expect(text).toContain(`event: message\ndata: ${JSON.stringify({ result: {}, jsonrpc: '2.0', id: 7 })}\n\n`);
    } finally {
      raw.abort();
    }
  });

  test('a JSON-RPC batch is accepted and each element handled', async () => {
    const raw = await openRawStream(h.base);
    try {
      const res = await post(raw.postUrl, JSON.stringify([ping(1), ping(2)]));
      expect(res.status).toBe(202);
      await raw.readUntil((t) => t.includes('"id":1') && t.includes('"id":2'));
    } finally {
      raw.abort();
    }
  });

  test('keep-alive comments arrive with a small keepAliveMs', async () => {
    const raw = await openRawStream(h.base, '?keepAliveMs=40');
    try {
      const text = await raw.readUntil((t) => t.split(': keep-alive\n\n').length >= 3, 2000);
      expect(text).toStartWith('event: endpoint\n');
    } finally {
      raw.abort();
    }
  });

  test('wrong Content-Type is 415', async () => {
    const raw = await openRawStream(h.base);
    try {
      const res = await post(raw.postUrl, JSON.stringify(ping(1)), 'text/plain');
      expect(res.status).toBe(415);
      expect(await res.text()).toContain('application/json');
      // A substring of application/json in a parameter is not application/json.
      const sneaky = await post(raw.postUrl, JSON.stringify(ping(1)), 'text/plain; x=application/json');
      expect(sneaky.status).toBe(415);
      // Parameters and case do not matter.
      const ok = await post(raw.postUrl, JSON.stringify(ping(1)), 'Application/JSON; charset=utf-8');
      expect(ok.status).toBe(202);
    } finally {
      raw.abort();
    }
  });

  test('malformed JSON is 400, valid JSON that is not JSON-RPC is 400', async () => {
    const raw = await openRawStream(h.base);
    try {
      const bad = await post(raw.postUrl, '{"jsonrpc": "2.0", "id": 1,');
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('not valid JSON');

      const notRpc = await post(raw.postUrl, JSON.stringify({ hello: 'world' }));
      expect(notRpc.status).toBe(400);
      expect(await notRpc.text()).toContain('JSON-RPC');

      const emptyBatch = await post(raw.postUrl, '[]');
      expect(emptyBatch.status).toBe(400);

      const badUtf8 = await post(raw.postUrl, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
      expect(badUtf8.status).toBe(400);
      expect(await badUtf8.text()).toContain('UTF-8');
    } finally {
      raw.abort();
    }
  });

  test('oversize body is 413, with Content-Length and without it', async () => {
    const raw = await openRawStream(h.base, '?maxBodyBytes=1024');
    try {
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2000) } });
      const withLength = await post(raw.postUrl, big);
      expect(withLength.status).toBe(413);
      expect(await withLength.text()).toContain('1024');

      // A stream body is sent chunked, with no Content-Length to trust.
      const chunk = new TextEncoder().encode('x'.repeat(700));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 4) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const chunked = await fetch(raw.postUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: stream,
      });
      expect(chunked.status).toBe(413);
      expect(h.lastPostContentLength()).toBeNull();

      // A body just under the limit still goes through.
      const near = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping', params: { pad: 'x'.repeat(950) } });
      expect(near.length).toBeGreaterThan(990);
      expect(near.length).toBeLessThanOrEqual(1024);
      const small = await post(raw.postUrl, near);
      expect(small.status).toBe(202);
    } finally {
      raw.abort();
    }
  });

  test('unknown session is 404', async () => {
    const res = await post(`${h.base}/message?sessionId=does-not-exist`, JSON.stringify(ping(1)));
    expect(res.status).toBe(404);
  });

  test('client disconnect (aborted fetch) fires onclose exactly once', async () => {
    const raw = await openRawStream(h.base);
    const transport = h.sessions.get(raw.sessionId);
    expect(transport).toBeDefined();
    raw.abort();
    await waitFor(() => h.closeCounts.get(raw.sessionId) === 1);
    // Both the stream cancel and req.signal may report the disconnect; give
    // the second one time to arrive, then check it was ignored.
    await Bun.sleep(100);
    await transport?.close();
    expect(h.closeCounts.get(raw.sessionId)).toBe(1);
    expect(h.sessions.has(raw.sessionId)).toBe(false);
    await expect(transport?.send(ping(1))).rejects.toThrow(/closed/);
    // The session is gone from the routing table as well.
    const res = await post(raw.postUrl, JSON.stringify(ping(1)));
    expect(res.status).toBe(404);
  });

  test('two concurrent sessions are independent', async () => {
    const a = new Client({ name: 'a', version: '0.0.0' });
    const b = new Client({ name: 'b', version: '0.0.0' });
    const before = new Set(h.sessions.keys());
    await Promise.all([
      a.connect(new SSEClientTransport(new URL(`${h.base}/sse`))),
      b.connect(new SSEClientTransport(new URL(`${h.base}/sse`))),
    ]);
    const ids = [...h.sessions.keys()].filter((k) => !before.has(k));
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);

    const calls = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).callTool({ name: 'echo', arguments: { text: `${i % 2 === 0 ? 'a' : 'b'}${i}` } }),
      ),
    );
    calls.forEach((result, i) => {
      expect(result.content).toEqual([{ type: 'text', text: `${i % 2 === 0 ? 'a' : 'b'}${i}` }]);
    });

    await a.close();
    await waitFor(() => ids.filter((id) => h.closeCounts.get(id) === 1).length === 1);
    // The other session is unaffected.
    expect(await b.ping()).toEqual({});
    expect((await b.listTools()).tools).toHaveLength(1);
    await b.close();
    await waitFor(() => ids.every((id) => h.closeCounts.get(id) === 1));
  });
});

describe('WebStandardSSEServerTransport lifecycle (no server)', () => {
  const jsonPost = (body: BodyInit, headers: Record<string, string> = {}): Request =>
    new Request('http://localhost/message', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });

  test('POST before the stream is opened is 404, after close 410', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message' });
    expect((await transport.handlePostMessage(jsonPost(JSON.stringify(ping(1))))).status).toBe(404);
    transport.response();
    await transport.close();
    const res = await transport.handlePostMessage(jsonPost(JSON.stringify(ping(1))));
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('closed');
  });

  test('close() is idempotent, fires onclose once and ends the stream', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message', sessionId: 'abc' });
    let closes = 0;
    transport.onclose = () => {
      closes++;
      // Re-entrant close from onclose must be a no-op.
      void transport.close();
    };
    const body = transport.response().text();
    await transport.send(ping(1));
    await transport.close();
    await transport.close();
    expect(closes).toBe(1);
    expect(await body).toBe(
      `event: endpoint\ndata: /message?sessionId=abc\n\nevent: message\ndata: ${JSON.stringify(ping(1))}\n\n`,
    );
  });

  test('send() rejects before response() and after close()', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message' });
    await expect(transport.send(ping(1))).rejects.toThrow(/not connected/);
    transport.response();
    await transport.close();
    await expect(transport.send(ping(1))).rejects.toThrow(/closed/);
    expect(() => transport.response()).toThrow(/closed/);
  });

  test('response() twice and start() twice are refused', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message' });
    await transport.start();
    await expect(transport.start()).rejects.toThrow(/already started/);
    transport.response();
    expect(() => transport.response()).toThrow(/already/);
    await transport.close();
  });

  test('the keep-alive interval is cleared on close and on disconnect', async () => {
    const clear = spyOn(globalThis, 'clearInterval');
    try {
      const closed = new WebStandardSSEServerTransport({ endpoint: '/message', keepAliveMs: 10 });
      closed.response();
      await closed.close();
      expect(clear).toHaveBeenCalledTimes(1);

      const cancelled = new WebStandardSSEServerTransport({ endpoint: '/message', keepAliveMs: 10 });
      let closes = 0;
      cancelled.onclose = () => closes++;
      await cancelled.response().body?.cancel();
      expect(clear).toHaveBeenCalledTimes(2);
      expect(closes).toBe(1);

      const disabled = new WebStandardSSEServerTransport({ endpoint: '/message', keepAliveMs: 0 });
      disabled.response();
      await disabled.close();
      expect(clear).toHaveBeenCalledTimes(2);
    } finally {
      clear.mockRestore();
    }
  });

  test('an aborted signal closes the session once', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message' });
    let closes = 0;
    transport.onclose = () => closes++;
    const controller = new AbortController();
    const body = transport.response(controller.signal).body;
    controller.abort();
    controller.abort();
    await transport.close();
    expect(closes).toBe(1);
    await body?.cancel();
    expect(closes).toBe(1);

    const early = new WebStandardSSEServerTransport({ endpoint: '/message' });
    let earlyCloses = 0;
    early.onclose = () => earlyCloses++;
    early.response(AbortSignal.abort());
    expect(earlyCloses).toBe(1);
  });

  test('a Content-Length that understates the body is caught while reading', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message', maxBodyBytes: 100 });
    transport.response();
    const body = JSON.stringify({ ...ping(1), params: { pad: 'x'.repeat(500) } });
    const res = await transport.handlePostMessage(jsonPost(body, { 'Content-Length': '10' }));
    expect(res.status).toBe(413);
    await transport.close();
  });

  test('messages reach onmessage with request info; onmessage errors do not fail the POST', async () => {
    const transport = new WebStandardSSEServerTransport({ endpoint: '/message?v=1' });
    const seen: unknown[] = [];
    const errors: Error[] = [];
    transport.onmessage = (message, extra) => {
      seen.push(message);
      expect(extra?.requestInfo?.headers['content-type']).toBe('application/json');
      expect(extra?.requestInfo?.url?.pathname).toBe('/message');
      if (seen.length === 1) throw new Error('handler bug');
    };
    transport.onerror = (error) => errors.push(error);
    const body = transport.response().body?.getReader();
    const first = await body?.read();
    expect(new TextDecoder().decode(first?.value)).toMatch(/^event: endpoint\ndata: \/message\?v=1&sessionId=/);

    const res = await transport.handlePostMessage(jsonPost(JSON.stringify([ping(1), ping(2)])));
    expect(res.status).toBe(202);
    expect(seen).toEqual([ping(1), ping(2)]);
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
    await transport.close();
  });

  test('invalid options are refused at construction', () => {
    expect(() => new WebStandardSSEServerTransport({ endpoint: '' })).toThrow(TypeError);
    expect(() => new WebStandardSSEServerTransport({ endpoint: '/m', keepAliveMs: -1 })).toThrow(RangeError);
    expect(() => new WebStandardSSEServerTransport({ endpoint: '/m', maxBodyBytes: 0 })).toThrow(RangeError);
    expect(() => new WebStandardSSEServerTransport({ endpoint: '/m', maxBodyBytes: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
