/**
 * Browser clients: CORS on the MCP endpoints, proven in headless Chromium
 * with pages served from other origins, and the OAuth discovery paths that
 * must not look like OAuth when a static token guards the server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { ensureCommands } from "../support/debian.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "cors-test-token-0123456789";
const MODERN_HEADERS = ["content-type", "accept", "mcp-protocol-version", "mcp-method", "mcp-name"];

describe("CORS preflight", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MCP_ALLOWED_ORIGINS: "https://app.example.test" });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });

  const preflight = (path: string, origin: string, headers = MODERN_HEADERS.join(", ")) =>
    fetch(new URL(path, server.url), {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers },
    });

  test("answers for an allowed origin on /mcp, /sse and /message, allowing every header MCP clients send", async () => {
    for (const path of ["/mcp", "/sse", "/message"]) {
      const response = await preflight(path, "https://app.example.test");
      expect({ path, status: response.status }).toEqual({ path, status: 204 });
      expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.test");
      const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",");
      for (const header of ["content-type", "accept", "authorization", "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id"]) {
        expect(allowed).toContain(header);
      }
      expect(response.headers.get("access-control-allow-methods")).toContain("POST");
      expect(response.headers.get("vary")).toContain("Origin");
    }
  });

  test("a loopback origin (a local tool) is allowed too; a foreign one gets 403 and no CORS headers", async () => {
    expect((await preflight("/mcp", "http://localhost:6274")).headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
    const refused = await preflight("/mcp", "https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect((await refused.json()).error.message).toContain("MCP_ALLOWED_ORIGINS");
  });

  test("answers expose Mcp-Session-Id to the page", async () => {
    const response = await fetch(new URL("/mcp", server.url), {
      method: "POST",
      headers: { Origin: "https://app.example.test", "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "page", version: "1" } } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.test");
    expect((response.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("mcp-session-id");
    await response.body?.cancel();
  });
});

describe("with MCP_AUTH_TOKEN", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MCP_AUTH_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });

  test("OAuth discovery and registration answer 404, not 401: there is no OAuth to find", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-authorization-server",
      "/.well-known/openid-configuration",
      "/register",
    ]) {
      const response = await fetch(new URL(path, server.url), { method: path === "/register" ? "POST" : "GET" });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect((await response.json()).error).toContain("MCP_AUTH_TOKEN");
    }
    // The MCP endpoint itself still wants the token.
    const mcp = await fetch(new URL("/mcp", server.url), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get("www-authenticate")).toContain("Bearer");
    // A JSON-RPC error like every other refusal, so clients can show why.
    expect(mcp.headers.get("content-type")).toContain("application/json");
    expect(await mcp.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
    const wrong = await fetch(new URL("/mcp", server.url), { method: "POST", headers: { authorization: "Bearer not-the-token-0123456789" }, body: "{}" });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.message).toContain("not this server's");
  });

  test("a preflight needs no token (browsers never send one), but the call does", async () => {
    const response = await fetch(new URL("/mcp", server.url), {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:6274", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
  });
});

describe("in a real browser", () => {
  let server: TestServer;
  let pages: ReturnType<typeof Bun.serve>;
  let browser: Browser;
  beforeAll(
    async () => {
      await ensureCommands([["chromium", "chromium"]], "The CORS browser test");
      // Two page origins on another port, both this machine: one allowed, one not.
      pages = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<!doctype html><title>client</title><p>a web MCP client</p>", { headers: { "content-type": "text/html" } }) });
      server = await startTestServer({ MCP_ALLOWED_ORIGINS: `http://allowed.example.test:${pages.port}` });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          // Names that are not loopback names (those are allowed by default), served from here.
          "--host-resolver-rules=MAP allowed.example.test 127.0.0.1, MAP denied.example.test 127.0.0.1",
        ],
      });
    },
    { timeout: 600_000 },
  );
  afterAll(async () => {
    await browser?.close();
    await server?.[Symbol.asyncDispose]();
    pages?.stop(true);
  });

  /** Runs an MCP 2026-07-28 search from a page of `origin` with plain fetch(); what the page saw. */
  async function searchFrom(origin: string): Promise<{ ok: boolean; status?: number; first?: string; error?: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      return await page.evaluate(async (mcp) => {
        const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
        try {
          const response = await fetch(mcp, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json, text/event-stream",
              "MCP-Protocol-Version": "2026-07-28",
              "Mcp-Method": "tools/call",
              "Mcp-Name": "search",
            },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search", arguments: { query: "connect ChatGPT" }, _meta: meta } }),
          });
          const body = await response.json();
          return { ok: true, status: response.status, first: body.result?.structuredContent?.results?.[0]?.id };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      }, `http://127.0.0.1:${server.port}/mcp`);
    } finally {
      await page.close();
    }
  }

  test("a page from an allowed origin on another port runs search over /mcp", async () => {
    const seen = await searchFrom(`http://allowed.example.test:${pages.port}`);
    expect(seen).toEqual({ ok: true, status: 200, first: "connecting-clients" });
  });

  test("a page from a disallowed origin is refused: the browser never hands it an answer", async () => {
    const seen = await searchFrom(`http://denied.example.test:${pages.port}`);
    expect(seen.ok).toBe(false);
    expect(seen.error).toContain("Failed to fetch");
  });
});
