/** MCP over HTTP as the benchmark speaks it: JSON-RPC bodies, headers, a start-up probe, sessions. */
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { DOMAIN } from "./runtime.ts";

export const PROTOCOL_VERSION = LATEST_PROTOCOL_VERSION;

export const MCP_HEADERS: Record<string, string> = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
};

export function initializeBody(id: number | string = 1): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "mcp-bench", version: "1.0.0" } },
  });
}

export function toolCallBody(name: string, args: Record<string, unknown>, id: number | string = 2): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
}

/** MCP 2026-07-28: the revision current clients speak, stateless, versioned per request. */
export const MODERN_VERSION = "2026-07-28";

/** A 2026-07-28 `tools/call`: the version and client capabilities in `_meta`. */
export function modernToolCallBody(name: string, args: Record<string, unknown>, id: number | string = 2): string {
  const _meta = { "io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {} };
  return JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, _meta } });
}

/** A 2026-07-28 `server/discover`: what such a client sends first (there is no initialize). */
export function discoverBody(id: number | string = 1): string {
  const _meta = { "io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {} };
  return JSON.stringify({ jsonrpc: "2.0", id, method: "server/discover", params: { _meta } });
}

export const DISCOVER_HEADERS: Record<string, string> = { ...MCP_HEADERS, "MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": "server/discover" };

/** The headers a 2026-07-28 `tools/call` of `tool` carries. */
export function modernHeaders(tool: string): Record<string, string> {
  return { ...MCP_HEADERS, "MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": "tools/call", "Mcp-Name": tool };
}

/** Where a server listens and how to reach it: TLS trust and the name it serves. */
export interface Endpoint {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`. */
  origin: string;
  /** PEM to trust for https (Pebble's root); `undefined` skips verification. */
  ca?: string;
  /** SNI and Host name. */
  serverName?: string;
}

export function endpoint(scheme: "http" | "https", port: number, ca?: string): Endpoint {
  // Plain HTTP is the local mode: the server answers loopback names only.
  return { origin: `${scheme}://127.0.0.1:${port}`, ca, serverName: scheme === "https" ? DOMAIN : undefined };
}

function tlsOptions(target: Endpoint): Record<string, unknown> | undefined {
  if (!target.origin.startsWith("https:")) return undefined;
  return target.ca ? { ca: [target.ca], serverName: target.serverName } : { rejectUnauthorized: false, serverName: target.serverName };
}

/** One request to `path`, with our Host header and TLS settings. */
export async function call(target: Endpoint, path: string, init: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Response> {
  const port = new URL(target.origin).port;
  return fetch(`${target.origin}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    body: init.body,
    headers: { Host: `${target.serverName ?? "127.0.0.1"}:${port}`, ...init.headers },
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    tls: tlsOptions(target),
    keepalive: false,
  } as RequestInit);
}

/** The JSON-RPC messages of a response: plain JSON, or the `data:` lines of an SSE body. */
export function jsonRpcMessages(text: string, contentType: string | null): unknown[] {
  if ((contentType ?? "").includes("text/event-stream")) {
    return text
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => JSON.parse(line.slice(5).trim()));
  }
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** The `result` of the first JSON-RPC answer, or throws with what came instead. */
export function resultOf(text: string, contentType: string | null): Record<string, unknown> {
  const messages = jsonRpcMessages(text, contentType) as { result?: Record<string, unknown>; error?: unknown }[];
  const answer = messages.find((m) => m.result !== undefined || m.error !== undefined);
  if (!answer?.result) throw new Error(`no JSON-RPC result in: ${text.slice(0, 300)}`);
  return answer.result;
}

/** `initialize`: a 2025 session's first request; `discover`: a 2026-07-28 client's (`server/discover`). */
export type ProbeKind = "initialize" | "discover" | "healthz";

/**
 * Spawn-to-ready probe: repeats the request until the server answers it
 * properly (200 and, for `initialize`, a JSON-RPC result; a plain-HTTP
 * product answers 503 while it indexes). Connection refused is retried after
 * `pauseMs` (1 ms: a tight loop, yet one that leaves the starting process
 * the CPU). Resolves with the time of the good answer (performance.now()).
 */
export async function probeUntilReady(target: Endpoint, kind: ProbeKind, deadline: number, pauseMs = 1, isAlive: () => boolean = () => true): Promise<number> {
  let last = "";
  for (;;) {
    try {
      const response =
        kind === "initialize"
          ? await call(target, "/mcp", { body: initializeBody(), headers: MCP_HEADERS, timeoutMs: 5_000 })
          : kind === "discover"
            ? await call(target, "/mcp", { body: discoverBody(), headers: DISCOVER_HEADERS, timeoutMs: 5_000 })
            : await call(target, "/healthz", { timeoutMs: 5_000 });
      const text = await response.text();
      if (response.status === 200 && (kind === "healthz" || text.includes('"result"'))) return performance.now();
      last = `HTTP ${response.status}: ${text.slice(0, 200)}`;
      // 503 means "starting"; any other refusal will not go away by asking again.
      if (response.status >= 400 && response.status < 500) throw new Error(`${kind} refused: ${last}`);
    } catch (error) {
      if ((error as Error).message.startsWith(`${kind} refused`)) throw error;
      last = (error as Error).message;
    }
    if (!isAlive()) throw new Error(`the server exited before it answered ${kind} (last: ${last})`);
    if (performance.now() > deadline) throw new Error(`no good answer to ${kind} at ${target.origin} in time (last: ${last})`);
    await Bun.sleep(pauseMs);
  }
}

/** A Streamable HTTP session (initialize, then notifications/initialized); resolves with its id. */
export async function openSession(target: Endpoint): Promise<string> {
  const response = await call(target, "/mcp", { body: initializeBody(), headers: MCP_HEADERS });
  const text = await response.text();
  resultOf(text, response.headers.get("content-type"));
  const id = response.headers.get("mcp-session-id");
  if (!id) throw new Error(`initialize answered without Mcp-Session-Id (HTTP ${response.status})`);
  const initialized = await call(target, "/mcp", {
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    headers: { ...MCP_HEADERS, "Mcp-Session-Id": id, "MCP-Protocol-Version": PROTOCOL_VERSION },
  });
  await initialized.arrayBuffer();
  if (initialized.status !== 202) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return id;
}

/** Headers of a request in a session (or none: stateless). */
export function sessionHeaders(sessionId?: string): Record<string, string> {
  return { ...MCP_HEADERS, "MCP-Protocol-Version": PROTOCOL_VERSION, ...(sessionId ? { "Mcp-Session-Id": sessionId } : {}) };
}
