/**
 * Hardening, round 2: each attack that once worked, replayed against the
 * real server process, and what it gets now. Clients come from several
 * loopback addresses (127.0.0.2 and up are loopback too; IPv6 test
 * addresses are added to `lo` for the /64 case).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import { connect } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCorpus } from "../../scripts/bench/lib/generated-corpus.ts";
import { ensureCommands } from "../support/debian.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { SEEDED_DIRECTORY, storeSelfSigned } from "../support/seeded-certificate.ts";
import { freePort } from "../support/pebble.ts";
import { tempDir } from "../support/server.ts";
import { until } from "../support/wait.ts";

const dirs: { path: string; remove: () => void }[] = [];
const newDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};
afterAll(() => dirs.forEach((dir) => dir.remove()));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request from a chosen local address (`fetch` cannot pick one). */
function request(port: number, options: { path: string; method?: string; headers?: Record<string, string>; body?: string; from?: string; host?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const family = options.from?.includes(":") ? 6 : 4;
    const req = http.request(
      {
        host: options.host ?? (family === 6 ? "::1" : "127.0.0.1"),
        family,
        port,
        path: options.path,
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers: options.headers,
        localAddress: options.from,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const MCP = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const INITIALIZE = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "flood", version: "1" } } });
const MODERN_META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };

/** A 2026-07-28 search from `from`; the answer's first result id. */
async function search(port: number, query: string, from?: string): Promise<{ status: number; first?: string; notice?: string }> {
  const answer = await request(port, {
    path: "/mcp",
    from,
    headers: { ...MCP, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "search" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search", arguments: { query }, _meta: MODERN_META } }),
  });
  if (answer.status !== 200) return { status: answer.status };
  const result = JSON.parse(answer.body).result.structuredContent;
  return { status: 200, first: result.results[0]?.id, notice: result.notice };
}

async function plainServer(env: Record<string, string> = {}): Promise<{ server: ServerProcess; port: number }> {
  const server = spawnServer({ MCP_PORT: "0", MCP_HOST: "::", MCP_DATA_DIR: newDir(), ...env });
  const port = loggedPort(await server.waitFor(/msg=listening/));
  await server.waitFor(/msg="documentation indexed"/);
  return { server, port };
}

describe("session exhaustion across addresses", () => {
  let server: ServerProcess;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await plainServer({ MCP_MAX_SESSIONS: "100", MCP_MAX_SESSIONS_PER_CLIENT: "5" }));
  });
  afterAll(() => server.stop());

  test("20 addresses fill the table to the brim; a new client still gets a session and a working search", async () => {
    const floodIds: string[] = [];
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          for (let n = 0; n < 5; n++) {
            const answer = await request(port, { path: "/mcp", from: `127.0.0.${i + 2}`, headers: MCP, body: INITIALIZE });
            if (round === 0) {
              expect(answer.status).toBe(200);
              floodIds.push(String(answer.headers["mcp-session-id"]));
            } else expect(answer.status).toBe(429); // each address holds its own cap
          }
        }),
      );
    }
    expect(floodIds.length).toBe(100);

    // The newcomer: a session, then a search over it that finds the right page.
    const opened = await request(port, { path: "/mcp", from: "127.0.0.60", headers: MCP, body: INITIALIZE });
    expect(opened.status).toBe(200);
    const session = String(opened.headers["mcp-session-id"]);
    const found = await request(port, {
      path: "/mcp",
      from: "127.0.0.60",
      headers: { ...MCP, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "search", arguments: { query: "connect ChatGPT" } } }),
    });
    expect(found.status).toBe(200);
    expect(found.body).toContain("connecting-clients");
    // More newcomers, each making room: the log says so once, not once per session.
    for (let i = 0; i < 5; i++) expect((await request(port, { path: "/mcp", from: `127.0.0.${61 + i}`, headers: MCP, body: INITIALIZE })).status).toBe(200);
    expect(server.count(/session table full/)).toBe(1);
    // The refusals of the second round: one line too (the rest are counted into the next one).
    expect(server.count(/new session refused/)).toBe(1);
  });
});

describe("IPv6: one /64 is one client", () => {
  const addresses = ["fd00:6e57::2", "fd00:6e57::3", "fd00:6e57::4", "fd00:6e57:0:1::2"];
  let server: ServerProcess;
  let port: number;
  beforeAll(async () => {
    await ensureCommands([["ip", "iproute2"]], "The IPv6 per-client test");
    for (const address of addresses) Bun.spawnSync(["ip", "-6", "addr", "add", `${address}/128`, "dev", "lo"]);
    ({ server, port } = await plainServer({ MCP_MAX_SESSIONS_PER_CLIENT: "2" }));
  });
  afterAll(async () => {
    await server?.stop();
    for (const address of addresses) Bun.spawnSync(["ip", "-6", "addr", "del", `${address}/128`, "dev", "lo"]);
  });

  test("sessions from three addresses of one /64 share its cap; another /64 has its own", async () => {
    const statuses: number[] = [];
    for (const from of addresses.slice(0, 3)) statuses.push((await request(port, { path: "/mcp", from, headers: MCP, body: INITIALIZE })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await request(port, { path: "/mcp", from: addresses[3], headers: MCP, body: INITIALIZE })).status).toBe(200);
  });
});

describe("one client's cost is bounded on every route", () => {
  test("the per-client cap spans MCP, the documentation, llms.txt, /metrics and the status page; /healthz stays open", async () => {
    const { server, port } = await plainServer({ MCP_MAX_REQUESTS_PER_CLIENT: "1" });
    try {
      // A request held in flight: an MCP POST whose chunked body never ends.
      const socket = connect({ port, host: "127.0.0.1", localAddress: "127.0.0.2" });
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(`POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: ${MCP.accept}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"jso\r\n`);
      await until("the held request to count", async () => (await request(port, { path: "/llms.txt", from: "127.0.0.2", host: "127.0.0.1" })).status === 429);
      for (const path of ["/llms-full.txt", "/docs/getting-started", "/metrics", "/"]) {
        const answer = await request(port, { path, from: "127.0.0.2", headers: { accept: "text/html" } });
        expect({ path, status: answer.status }).toEqual({ path, status: 429 });
        expect(Number(answer.headers["retry-after"])).toBeGreaterThan(0);
      }
      expect((await request(port, { path: "/healthz", from: "127.0.0.2" })).status).toBe(200);
      // Another client is not affected.
      expect((await request(port, { path: "/llms-full.txt", from: "127.0.0.3" })).status).toBe(200);
      socket.destroy();
      await until("the slot to come back", async () => (await request(port, { path: "/llms.txt", from: "127.0.0.2" })).status === 200);
    } finally {
      await server.stop();
    }
  });

  test("50 concurrent readers of llms-full.txt on a 10,000-page source share one copy: peak RSS grows by far less than 50 copies", async () => {
    const corpus = generateCorpus({ pages: 10_000, sectionsPerPage: 2, queries: 1 });
    const file = join(newDir(), "index.json");
    writeFileSync(file, JSON.stringify(corpus.pages.map((page) => ({ title: page.title, permalink: page.url, contents: page.markdown }))));
    const sourceBytes = statSync(file).size;
    const { server, port } = await plainServer({ MCP_DOCS_SOURCE: file, MCP_DOCS_REFRESH: "off", MCP_MAX_REQUESTS_PER_CLIENT: "100" });
    try {
      const peak = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, "utf8"))![1]) * 1024;
      const first = await request(port, { path: "/llms-full.txt" });
      expect(first.status).toBe(200);
      const size = Buffer.byteLength(first.body);
      const before = peak();
      const answers = await Promise.all(Array.from({ length: 50 }, () => request(port, { path: "/llms-full.txt" })));
      for (const answer of answers) expect(Buffer.byteLength(answer.body)).toBe(size);
      const growth = peak() - before;
      console.log(`llms-full.txt ${(size / 2 ** 20).toFixed(1)} MiB, source ${(sourceBytes / 2 ** 20).toFixed(1)} MiB; peak RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB for 50 readers`);
      // 50 built copies would be 50 × size; one shared copy and the sockets' buffers stay within a few.
      expect(growth).toBeLessThan(4 * sourceBytes);
    } finally {
      await server.stop();
    }
  }, 120_000);

  test("32 concurrent maximum-size queries from one client: another client's search is still answered, and right", async () => {
    const { server, port } = await plainServer({ MCP_MAX_REQUESTS_PER_CLIENT: "32" });
    try {
      const huge = "certificate renewal backoff ".repeat(35_000); // 980 kB, just under MCP_MAX_BODY, as the attack sent
      let stop = false;
      const abusive = Array.from({ length: 32 }, async () => {
        let sent = 0;
        while (!stop) {
          const answer = await search(port, huge, "127.0.0.2");
          // Searched, shortened, and told so; or refused beyond the client's cap. Never an error.
          if (answer.status === 200) expect(answer.notice).toContain("512 characters");
          else expect(answer.status).toBe(429);
          sent++;
        }
        return sent;
      });
      try {
        await Bun.sleep(300);
        for (let i = 0; i < 5; i++) {
          const normal = await search(port, "how do I connect ChatGPT", "127.0.0.3");
          expect(normal).toEqual({ status: 200, first: "connecting-clients", notice: undefined });
        }
      } finally {
        stop = true;
      }
      expect((await Promise.all(abusive)).reduce((a, b) => a + b, 0)).toBeGreaterThan(32);
    } finally {
      await server.stop();
    }
  });
});

describe("secrets in the documentation source URL", () => {
  test("the token and the password never appear on /healthz, the status page, /metrics or in a log line", async () => {
    const pages = [{ title: "Private guide", permalink: "https://docs.example.test/private/", contents: "Only for staff." }];
    const origin = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json(pages) });
    try {
      const url = `http://reader:Pw-Secret-1@127.0.0.1:${origin.port}/index.json?token=Tok-Secret-2&lang=en`;
      const { server, port } = await plainServer({ MCP_DOCS_SOURCE: url });
      try {
        const surfaces = [
          (await request(port, { path: "/healthz" })).body,
          (await request(port, { path: "/", headers: { accept: "text/html" } })).body,
          (await request(port, { path: "/", headers: { accept: "application/json" } })).body,
          (await request(port, { path: "/metrics" })).body,
          server.lines.join("\n"),
        ];
        for (const text of surfaces) {
          for (const secret of ["Tok-Secret-2", "Pw-Secret-1", "token=", "reader:"]) expect(text).not.toContain(secret);
        }
        // What is shown instead: scheme, host and path.
        expect(JSON.parse(surfaces[0]!).source).toBe(`http://127.0.0.1:${origin.port}/index.json`);
      } finally {
        await server.stop();
      }
    } finally {
      origin.stop(true);
    }
  });

  test("a bad setting with a secret in it is refused without echoing the secret", () => {
    const run = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../src/main.ts")], {
      env: { ...process.env, MCP_DOCS_SOURCE: "ftp://reader:Pw-Secret-1@example.test/index.json?token=Tok-Secret-2" },
      stderr: "pipe",
      stdout: "pipe",
    });
    expect(run.exitCode).toBe(2);
    const stderr = run.stderr.toString();
    expect(stderr).toContain("MCP_DOCS_SOURCE");
    expect(stderr).not.toContain("Tok-Secret-2");
    expect(stderr).not.toContain("Pw-Secret-1");
  });
});

describe("a full data directory", () => {
  const mount = join(newDir(), "data");
  let mounted = false;
  beforeAll(() => {
    mkdirSync(mount);
    mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]).exitCode === 0;
  });
  afterAll(() => {
    if (mounted) Bun.spawnSync(["umount", mount]);
  });

  test("the fetched documentation is served anyway, the save is retried, nothing is downloaded twice, and a stale temp file goes", async () => {
    if (!mounted) throw new Error("this test mounts a tmpfs, which needs root (mount -t tmpfs); CI runs as root");
    const corpus = generateCorpus({ pages: 200, sectionsPerPage: 2, queries: 1 });
    const body = JSON.stringify(corpus.pages.map((page) => ({ title: page.title, permalink: page.url, contents: page.markdown })));
    expect(body.length).toBeGreaterThan(100 * 1024); // more than the 64 KiB disk
    let full = 0;
    let revalidated = 0;
    const origin = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        if (request.headers.get("if-none-match") === '"v1"') return revalidated++, new Response(null, { status: 304 });
        full++;
        return new Response(body, { headers: { "content-type": "application/json", etag: '"v1"' } });
      },
    });
    // What a SIGKILL mid-save leaves: a temp file of a process that no longer runs.
    mkdirSync(join(mount, "docs-cache"));
    const stale = join(mount, "docs-cache", ".0123456789abcdef.json.2147483000.0badcafe.tmp");
    writeFileSync(stale, "x".repeat(1024));
    try {
      const server = spawnServer({ MCP_PORT: "0", MCP_HOST: "127.0.0.1", MCP_DATA_DIR: mount, MCP_DOCS_SOURCE: `http://127.0.0.1:${origin.port}/index.json`, MCP_DOCS_REFRESH: "1s" });
      try {
        const port = loggedPort(await server.waitFor(/msg=listening/));
        await server.waitFor(/documentation indexed/);
        expect(existsSync(stale)).toBe(false);
        expect((await request(port, { path: "/healthz" })).status).toBe(200);
        expect((await search(port, corpus.queries[0]!)).status).toBe(200);
        await until("three revalidations", () => revalidated >= 3);
        expect(full).toBe(1);
        expect(server.count(/could not be saved/)).toBe(1);
        expect(readdirSync(join(mount, "docs-cache")).filter((name) => name.endsWith(".json") && !name.startsWith("."))).toEqual([]);
        // Room again: the next refresh saves the copy, still without a download.
        Bun.spawnSync(["mount", "-o", "remount,size=8m", mount]);
        await until("the saved copy", () => readdirSync(join(mount, "docs-cache")).some((name) => name.endsWith(".meta.json")));
        expect(full).toBe(1);
      } finally {
        await server.stop();
      }
    } finally {
      origin.stop(true);
    }
  }, 60_000);
});

describe("port 80 of a TLS deployment", () => {
  const DOMAIN = "docs.example.test";
  let server: ServerProcess;
  let acmePort: number;
  let httpsPort: number;
  let certsDir: string;
  beforeAll(async () => {
    certsDir = newDir();
    await storeSelfSigned(certsDir, DOMAIN);
    // An existing directory a user made readable by everyone, and a temp file a killed process left.
    Bun.spawnSync(["chmod", "755", certsDir]);
    writeFileSync(join(certsDir, `.account.json.2147483000.0badcafe.tmp`), "{}");
    server = spawnServer({
      MCP_DOMAINS: DOMAIN,
      MCP_ACME_DIRECTORY: SEEDED_DIRECTORY,
      MCP_ACME_PORT: String(await freePort()),
      MCP_PORT: "0",
      MCP_HOST: "127.0.0.1",
      MCP_CERTS_DIR: certsDir,
      MCP_DATA_DIR: newDir(),
    });
    httpsPort = loggedPort(await server.waitFor(/msg="serving https"/));
    acmePort = Number(/acmePort=(\d+)/.exec(await server.waitFor(/msg="challenge responder listening"/))![1]);
  });
  afterAll(() => server?.stop());

  /** Raw bytes to port 80, for request targets no HTTP client would send. */
  function raw(head: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(acmePort, "127.0.0.1", () => socket.write(head));
      let text = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk) => {
        text += chunk;
        if (text.includes("\r\n\r\n")) socket.end();
      });
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
  }

  test.each([
    ["CONNECT with user info", "CONNECT x:@evil.example/p HTTP/1.1\r\nHost: docs.example.test\r\n\r\n"],
    ["CONNECT with a dotted port", "CONNECT x:.evil.example/p HTTP/1.1\r\nHost: docs.example.test\r\n\r\n"],
    ["asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: docs.example.test\r\n\r\n"],
  ])("%s gets 400 and no Location", async (_, head) => {
    const answer = await raw(head);
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer.toLowerCase()).not.toContain("location:");
    expect(answer).not.toContain("evil.example");
  });

  test("an ordinary request is redirected to our own name, port and path", async () => {
    const answer = await raw("GET /docs/intro?x=1 HTTP/1.1\r\nHost: docs.example.test\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 308/);
    expect(answer).toContain(`Location: https://${DOMAIN}:${httpsPort}/docs/intro?x=1\r\n`);
  });

  test("absolute-form never picks the redirect's host: only our name and the path go into Location", async () => {
    // Bun hands the handler absolute-form as if it were origin-form (it keeps
    // the path and takes the authority from Host, dropping the target's), so
    // it cannot be told apart and refused; what matters is that the
    // target's host never reaches Location.
    for (const head of [
      "GET http://evil.example/p HTTP/1.1\r\nHost: docs.example.test\r\n\r\n",
      "GET http://evil.example/p HTTP/1.1\r\nHost: evil.example\r\n\r\n",
      "GET https://evil.example@docs.example.test/p HTTP/1.1\r\nHost: docs.example.test\r\n\r\n",
    ]) {
      const answer = await raw(head);
      const location = /\r\nLocation: (.*)\r\n/i.exec(answer)?.[1];
      if (location === undefined) expect(answer).toMatch(/^HTTP\/1\.1 400/);
      else expect(new URL(location).host).toBe(`${DOMAIN}:${httpsPort}`);
      expect(location ?? "").not.toContain("evil.example");
    }
  });

  test("the certificate directory was closed to others and cleaned at start", () => {
    expect(statSync(certsDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(certsDir).some((name) => name.endsWith(".tmp"))).toBe(false);
    expect(server.count(/certificate storage put right/)).toBe(2);
  });

  test("SIGHUP with a corrupted stored certificate keeps serving, and says why", async () => {
    writeFileSync(join(certsDir, `${DOMAIN}.cert.pem`), "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
    server.proc.kill("SIGHUP");
    await server.waitFor(/stored certificate is not usable; the one in service is kept/);
    const health = await fetch(`https://127.0.0.1:${httpsPort}/healthz`, { tls: { rejectUnauthorized: false }, headers: { host: DOMAIN } } as RequestInit);
    expect(health.status).toBe(200);
  });
});
