import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { LibraryStatus } from "../../src/docs/library.ts";
import { relativeTime, STATUS_PAGE_CSP, statusPage, wantsHtml } from "../../src/http/status-page/index.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ensureCommands } from "../support/debian.ts";
import { corpusPath } from "../support/corpora.ts";
import { callTool } from "../support/modern-call.ts";

const CHROMIUM = "/usr/bin/chromium";
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

const library: LibraryStatus = {
  source: "https://docs.example.com/llms-full.txt",
  title: "Example Docs",
  pages: 42,
  sections: 314,
  indexedAt: "2025-01-01T00:00:00.000Z",
  indexAgeSeconds: 180,
};

describe("statusPage", () => {
  test("escapes a hostile title, source and certificate fields everywhere", () => {
    const html = statusPage({
      origin: "https://docs.example.com",
      version: "1.0.0",
      ready: true,
      library: { ...library, title: "<script>alert(1)</script>", source: `"><img src=x onerror=alert(2)>`, lastRefreshError: "<b>x</b>" },
      certificate: { ready: true, names: ["<i>a</i>.example"], issuer: "E'vil & Co", notAfter: "2025-03-01T00:00:00Z", renewals: 0, failures: 0 },
    });
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;");
    expect(html).toContain("&lt;i&gt;a&lt;/i&gt;.example");
    expect(html).toContain("E&#39;vil &amp; Co");
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt;");
    // Only the page's own script element, the one the CSP hash allows.
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  test("shows the URLs, client instructions and status", () => {
    const now = new Date("2025-01-01T00:03:00Z");
    const html = statusPage({
      origin: "https://docs.example.com",
      version: "1.2.3",
      ready: true,
      library,
      now,
      certificate: {
        ready: true,
        names: ["docs.example.com", "www.example.com"],
        issuer: "Let's Encrypt R11",
        notAfter: "2025-03-01T00:00:00Z",
        nextRenewalAt: "2025-01-30T00:00:00Z",
        renewals: 1,
        failures: 0,
      },
    });
    expect(html).toContain("serves Example Docs to AI assistants over the Model Context Protocol");
    expect(html).toContain(`<code id="mcp-url">https://docs.example.com/mcp</code>`);
    expect(html).toContain(`<code id="sse-url">https://docs.example.com/sse</code>`);
    expect(html).toContain("claude mcp add --transport http docs https://docs.example.com/mcp");
    expect(html).toContain("~/.gemini/settings.json");
    expect(html).toContain("&quot;httpUrl&quot;: &quot;https://docs.example.com/mcp&quot;");
    expect(html).toContain(`<dd id="pages">42</dd>`);
    expect(html).toContain(`<dd id="sections">314</dd>`);
    expect(html).toContain("3 minutes ago");
    expect(html).toContain("docs.example.com, www.example.com");
    expect(html).toContain("Let&#39;s Encrypt R11");
    expect(html).toContain("2025-03-01");
    expect(html).toContain("2025-01-30");
    for (const link of ["/llms.txt", "/llms-full.txt", "/healthz"]) expect(html).toContain(`href="${link}"`);
    expect(html).not.toContain("ChatGPT needs an https URL");
    expect(html).not.toContain("plain HTTP");
    // Small enough to be a glance, not an app.
    expect(new TextEncoder().encode(html).length).toBeLessThan(8 * 1024);
  });

  test("says plain HTTP and warns about ChatGPT without TLS", () => {
    const html = statusPage({ origin: "http://localhost:8080", version: "1.0.0", ready: false, library: { ...library, pages: 0, indexAgeSeconds: undefined } });
    expect(html).toContain("plain HTTP (local use)");
    expect(html).toContain("ChatGPT needs an https URL");
    expect(html).toContain("not indexed yet");
    expect(html).toContain("Starting");
  });

  test("relativeTime reads like a person would say it", () => {
    expect(relativeTime(5)).toBe("just now");
    expect(relativeTime(60)).toBe("1 minute ago");
    expect(relativeTime(180)).toBe("3 minutes ago");
    expect(relativeTime(7_200)).toBe("2 hours ago");
    expect(relativeTime(-86_400 * 30)).toBe("in 30 days");
  });
});

describe("wantsHtml", () => {
  test.each([
    [BROWSER_ACCEPT, true],
    ["text/html", true],
    ["TEXT/HTML; charset=utf-8", true],
    ["text/*", true],
    ["text/html, application/json;q=0.9", true],
    ["application/json, text/html;q=0.9", false],
    ["text/html;q=0.5, */*", false],
    ["text/html, application/json", false],
    ["*/*", false],
    ["application/json", false],
    ["text/html;q=0, */*", false],
    ["text/html;q=bogus, application/json;q=0.1", false],
    ["", false],
    [undefined, false],
  ] as const)("%p → %p", (accept, expected) => {
    expect(wantsHtml(accept)).toBe(expected);
  });
});

describe("GET / on the real server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  test.each(["application/json", "*/*"])("Accept: %s still gets the JSON", async (accept) => {
    const response = await fetch(new URL("/", server.url), { headers: { Accept: accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("vary")).toBe("Accept");
    const body = (await response.json()) as Record<string, any>;
    expect(body.name).toBe("mcp-server");
    expect(body.mcp).toEqual({ streamableHttp: `${server.url.origin}/mcp`, sse: `${server.url.origin}/sse` });
  });

  test("a browser's Accept gets the page, uncached, under a strict CSP", async () => {
    const response = await fetch(new URL("/", server.url), { headers: { Accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("vary")).toBe("Accept");
    const csp = response.headers.get("content-security-policy");
    expect(csp).toBe(STATUS_PAGE_CSP);
    for (const directive of ["default-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    const html = await response.text();
    expect(html).toContain(`<code id="mcp-url">${server.url.origin}/mcp</code>`);
    expect(new TextEncoder().encode(html).length).toBeLessThan(8 * 1024);
  });
});

describe("the status page in a real browser", () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(
    async () => {
      await ensureCommands([["chromium", "chromium"]], "The status page browser test");
      server = await startTestServer();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
    },
    { timeout: 600_000 },
  );
  afterAll(async () => {
    await browser?.close();
    await server?.[Symbol.asyncDispose]();
  });

  test(
    "shows the URL and page count, copies, and runs clean under its CSP",
    async () => {
      const origin = server.url.origin;
      const health = (await (await fetch(new URL("/healthz", server.url))).json()) as { pages: number };
      expect(health.pages).toBeGreaterThan(0);

      const context = await browser.newContext({ viewport: { width: 900, height: 900 }, deviceScaleFactor: 1 });
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
      // Init scripts are injected by the browser, outside the page's CSP.
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (event) => {
          const list = ((globalThis as any).__cspViolations ??= []) as string[];
          list.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
        });
      });

      const response = await page.goto(`${origin}/`, { waitUntil: "load" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-type"]).toContain("text/html");

      expect(await page.locator("#mcp-url").textContent()).toBe(`${origin}/mcp`);
      expect(await page.locator("#sse-url").textContent()).toBe(`${origin}/sse`);
      expect(Number(await page.locator("#pages").textContent())).toBe(health.pages);

      // The buttons start hidden and only the hashed script shows them:
      // visible buttons prove the CSP hash matches the script sent.
      const copy = page.locator("#mcp-url + button");
      await expect(copy.isVisible()).resolves.toBe(true);
      await copy.click();
      await page.waitForFunction((button) => button?.textContent === "Copied", await copy.elementHandle());
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${origin}/mcp`);

      const dir = mkdtempSync(join(tmpdir(), "status-page-"));
      const light = join(dir, "status-page.png");
      await page.screenshot({ path: light, fullPage: true });
      await page.emulateMedia({ colorScheme: "dark" });
      const dark = join(dir, "status-page-dark.png");
      await page.screenshot({ path: dark, fullPage: true });
      copyFileSync(light, "/tmp/status-page.png");
      copyFileSync(dark, "/tmp/status-page-dark.png");
      console.log(`status page screenshots: ${light}, ${dark} (copies: /tmp/status-page.png, /tmp/status-page-dark.png)`);

      const violations = (await page.evaluate(() => (globalThis as any).__cspViolations ?? [])) as string[];
      expect(violations).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    },
    { timeout: 60_000 },
  );

  test(
    "reads fine without JavaScript, with no dead copy buttons",
    async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(`${server.url.origin}/`);
      expect(await page.locator("#mcp-url").textContent()).toBe(`${server.url.origin}/mcp`);
      expect(await page.locator("button[data-copy]").count()).toBeGreaterThan(0);
      expect(await page.locator("button[data-copy]:visible").count()).toBe(0);
      await context.close();
    },
    { timeout: 30_000 },
  );
});

describe("what assistants ask, on the status page and in /metrics", () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(
    async () => {
      await ensureCommands([["chromium", "chromium"]], "The status page browser test");
      server = await startTestServer({ MCP_DOCS_SOURCE: corpusPath("hono") });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
    },
    { timeout: 600_000 },
  );
  afterAll(async () => {
    await browser?.close();
    await server?.[Symbol.asyncDispose]();
  });

  test(
    "counts searches and searches without results; shows a query only once three clients asked it, normalised",
    async () => {
      const port = server.port;
      const asked = ["How do I set a cookie?", "how do i  SET a cookie", "how do I set a cookie"];
      for (const [i, query] of asked.entries()) await callTool(port, "search", { query }, `127.0.0.${i + 2}`);
      for (const i of [2, 3, 4]) await callTool(port, "search", { query: "zqxjv wprtk" }, `127.0.0.${i}`);
      // One client's own questions: asked often, but by one client only.
      for (let i = 0; i < 5; i++) await callTool(port, "search", { query: "qwxz blorptastic vvmmk" }, "127.0.0.9");

      const metrics = await (await fetch(new URL("/metrics", server.url))).text();
      expect(metrics).toContain("mcp_search_queries_total 11");
      expect(metrics).toContain("mcp_search_zero_result_queries_total 8");
      expect(metrics).not.toContain("127.0.0.");

      const page = await (await browser.newContext()).newPage();
      await page.goto(`${server.url.origin}/`);
      expect(await page.locator("#searches").textContent()).toBe("11");
      expect(await page.locator("#zero-results").textContent()).toBe("8");
      expect(await page.locator("#top-queries tr").allTextContents()).toEqual(["how do i set a cookie3", "zqxjv wprtk3"]);
      expect(await page.locator("#top-zero tr").allTextContents()).toEqual(["zqxjv wprtk3"]);
      const html = await page.content();
      expect(html).not.toContain("blorptastic");
      expect(html).not.toContain("127.0.0.");
      await page.context().close();
    },
    { timeout: 60_000 },
  );

  test("MCP_INSIGHTS=off keeps nothing and shows nothing", async () => {
    await using quiet = await startTestServer({ MCP_DOCS_SOURCE: corpusPath("hono"), MCP_INSIGHTS: "off" });
    await callTool(quiet.port, "search", { query: "set a cookie" });
    const html = await (await fetch(new URL("/", quiet.url), { headers: { accept: BROWSER_ACCEPT } })).text();
    expect(html).not.toContain("What assistants ask");
    expect(await (await fetch(new URL("/metrics", quiet.url))).text()).not.toMatch(/mcp_search_queries_total \d/);
  });
});
