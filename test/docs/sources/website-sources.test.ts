/**
 * The website sources against real sites served locally: the Hono docs as
 * VitePress builds them (HTML, sitemap.xml, and vitepress-plugin-llms's
 * llms.txt, llms-full.txt and Markdown twins) and MkDocs's own built
 * documentation (Debian's mkdocs-doc). Origins and licences:
 * test/fixtures/sites/README.md.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { LlmsSource } from "../../../src/docs/sources/llms-source.ts";
import { SitemapSource } from "../../../src/docs/sources/sitemap-source.ts";
import { loadCorpus } from "../../support/corpora.ts";
import { serveSite } from "../../support/static-site.ts";
import { tempDir } from "../../support/server.ts";

const hono = serveSite("hono-vitepress", "https://hono.dev");
const mkdocs = serveSite("mkdocs", "https://www.mkdocs.org");
const dirs: { remove: () => void }[] = [];
afterAll(() => {
  hono.stop();
  mkdocs.stop();
  for (const dir of dirs) dir.remove();
});
const cache = () => {
  const dir = tempDir("mcp-site-cache-");
  dirs.push(dir);
  return dir.path;
};

describe("sitemap.xml source", () => {
  test("a VitePress site: every page of the sitemap, main content only, ids as the Hugo export has them", async () => {
    const source = new SitemapSource(`${hono.origin}/sitemap.xml`, cache());
    const loaded = (await source.load())!;
    const corpus = new Set((await loadCorpus("hono")).map((page) => page.id));
    const ids = loaded.pages.map((page) => page.id);
    expect(ids.length).toBeGreaterThanOrEqual(84);
    expect(ids.filter((id) => corpus.has(id)).length).toBeGreaterThanOrEqual(83);
    const cookie = loaded.pages.find((page) => page.id === "docs/helpers/cookie")!;
    expect(cookie.title).toBe("Cookie Helper");
    expect(cookie.url).toBe(`${hono.origin}/docs/helpers/cookie`);
    expect(cookie.markdown).toContain("## Usage {#usage}");
    expect(cookie.markdown).toContain("setSignedCookie(c, 'cookie_name0'");
    // The sidebar, the nav bar, the footer and the scripts are not content.
    for (const page of loaded.pages) {
      expect(page.markdown).not.toContain("__VP_");
      expect(page.markdown).not.toContain("Skip to content");
      expect(page.markdown).not.toMatch(/Released under the MIT License|On this page/);
    }
    expect(hono.requests.every((request) => request.userAgent === "mcp-server")).toBe(true);
  });

  test("a refresh revalidates the sitemap and every page, and 304s everywhere mean unchanged", async () => {
    const source = new SitemapSource(`${mkdocs.origin}/sitemap.xml`, cache());
    const first = (await source.load())!;
    expect(first.pages.map((page) => page.id)).toContain("user-guide/deploying-your-docs");
    const before = mkdocs.requests.length;
    expect(await source.load()).toBeUndefined();
    const refresh = mkdocs.requests.slice(before).filter((request) => request.path !== "/robots.txt");
    expect(refresh.length).toBe(first.pages.length + 1);
    expect(refresh.every((request) => request.ifNoneMatch !== null && request.status === 304)).toBe(true);
  });

  test("robots.txt Disallow for our agent is honoured, and off-site sitemap entries are not fetched", async () => {
    mkdocs.override("/robots.txt", "User-agent: *\nDisallow: /\n\nUser-agent: mcp-server\nDisallow: /about/\nAllow: /\n");
    mkdocs.override(
      "/offsite-sitemap.xml",
      `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://elsewhere.example/x.html</loc></url><url><loc>${mkdocs.origin}/about/license.html</loc></url><url><loc>${mkdocs.origin}/user-guide/cli.html</loc></url></urlset>`,
      "application/xml",
    );
    try {
      const before = mkdocs.requests.length;
      const loaded = (await new SitemapSource(`${mkdocs.origin}/offsite-sitemap.xml`, cache()).load())!;
      expect(loaded.pages.map((page) => page.id)).toEqual(["user-guide/cli"]);
      expect(mkdocs.requests.slice(before).map((request) => request.path)).not.toContain("/about/license.html");
    } finally {
      mkdocs.override("/robots.txt", undefined);
      mkdocs.override("/offsite-sitemap.xml", undefined);
    }
  });

  test("bounded: at most maxPages pages, and a page over maxPageBytes fails the load in one line", async () => {
    const few = (await new SitemapSource(`${mkdocs.origin}/sitemap.xml`, cache(), { maxPages: 3 }).load())!;
    expect(few.pages).toHaveLength(3);
    const small = new SitemapSource(`${mkdocs.origin}/sitemap.xml`, cache(), { maxPageBytes: 2_000 });
    expect(small.load()).rejects.toThrow(/over the 2000-byte limit/);
  });

  test("a site that goes down keeps being served from the last good copy after a restart", async () => {
    const dir = cache();
    const pages = (await new SitemapSource(`${mkdocs.origin}/sitemap.xml`, dir).load())!.pages.length;
    mkdocs.failWith(503);
    try {
      const restarted = (await new SitemapSource(`${mkdocs.origin}/sitemap.xml`, dir).load())!;
      expect(restarted.pages).toHaveLength(pages);
      expect(restarted.warning).toMatch(/^fetch failed \(robots\.txt answered HTTP 503.*\); serving the last good copy$/);
      const fresh = new SitemapSource(`${mkdocs.origin}/sitemap.xml`, cache());
      expect(fresh.load()).rejects.toThrow(/HTTP 503/);
    } finally {
      mkdocs.failWith(undefined);
    }
  });
});

describe("llms.txt sources", () => {
  test("llms-full.txt is split into its pages, with the page URLs it names", async () => {
    const loaded = (await new LlmsSource(`${hono.origin}/llms-full.txt`, cache()).load())!;
    expect(loaded.pages).toHaveLength(85);
    const bodyLimit = loaded.pages.find((page) => page.id === "docs/middleware/builtin/body-limit")!;
    expect(bodyLimit.title).toBe("Body Limit Middleware");
    expect(bodyLimit.url).toBe(`${hono.origin}/docs/middleware/builtin/body-limit`);
    expect(bodyLimit.markdown).toContain("bodyLimit");
    expect(bodyLimit.markdown).not.toContain("url: ");
  });

  test("llms.txt has its linked Markdown pages read, revalidated one by one on refresh", async () => {
    const source = new LlmsSource(`${hono.origin}/llms.txt`, cache());
    const loaded = (await source.load())!;
    expect(loaded.pages).toHaveLength(85);
    expect(loaded.pages.find((page) => page.id === "docs/helpers/cookie")?.markdown).toContain("setCookie");
    const before = hono.requests.length;
    expect(await source.load()).toBeUndefined();
    const refresh = hono.requests.slice(before);
    expect(refresh).toHaveLength(86);
    expect(refresh.every((request) => request.status === 304)).toBe(true);
  });

  test("a bounded llms.txt reads only maxPages of its links", async () => {
    const loaded = (await new LlmsSource(`${hono.origin}/llms.txt`, cache(), { maxPages: 5, concurrency: 2 }).load())!;
    expect(loaded.pages).toHaveLength(5);
  });
});
