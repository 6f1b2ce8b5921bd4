import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { parseHugoIndex } from "../../src/docs/hugo.ts";
import { createSource, SourceSettingError } from "../../src/docs/create-source.ts";
import { FolderSource } from "../../src/docs/folder-source.ts";
import { HugoFileSource } from "../../src/docs/hugo-file-source.ts";
import { RemoteSource } from "../../src/docs/remote-source.ts";
import { EmbeddedSource } from "../../src/docs/embedded-source.ts";
import { Library } from "../../src/docs/library.ts";
import type { Page } from "../../src/docs/page.ts";
import type { DocsSource } from "../../src/docs/source.ts";
import { idFromPath, idFromPermalink, isValidId } from "../../src/docs/ids.ts";
import { parseFrontMatter } from "../../src/docs/markdown.ts";
import { createLogger } from "../../src/log/index.ts";
import { tempDir } from "../support/server.ts";
import { corpusPath, loadCorpus } from "../support/corpora.ts";

const dirs: { remove: () => void }[] = [];
const temp = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};
afterAll(() => dirs.forEach((dir) => dir.remove()));

describe("ids", () => {
  test("paths and permalinks become safe ids", () => {
    expect(idFromPermalink("https://hono.dev/docs/api/context")).toBe("docs/api/context");
    expect(idFromPermalink("https://hono.dev/docs/api/")).toBe("docs/api");
    expect(idFromPermalink("https://example.com/")).toBe("index");
    expect(idFromPath("Guide/Getting Started.md")).toBe("guide/getting-started.md");
    expect(idFromPath("../../etc/passwd")).toBe("etc/passwd");
    // URL parsing resolves encoded dot segments before the id is made.
    expect(idFromPermalink("https://x.test/a/%2e%2e/b")).toBe("b");
  });
  test("isValidId refuses anything that could leave the index", () => {
    for (const bad of ["../etc/passwd", "/etc/passwd", "a/../b", "a//b", "A", "a\\b", "", "a/./b", "%2e%2e", "a/b/"]) expect(isValidId(bad)).toBe(false);
    for (const good of ["index", "docs/api/context", "v1.2/notes", "_index"]) expect(isValidId(good)).toBe(true);
  });
});

describe("Hugo JSON index", () => {
  test("the DownToZero corpus parses into pages with ids from permalinks", async () => {
    const { pages, skipped } = parseHugoIndex(await Bun.file(corpusPath("dtz")).text());
    expect(pages.length).toBe(15);
    expect(skipped).toBe(0);
    for (const page of pages) {
      expect(isValidId(page.id)).toBe(true);
      expect(page.url).toStartWith("https://docs.example.test/");
    }
    expect(new Set(pages.map((page) => page.id)).size).toBe(pages.length);
  });

  test.each([
    ["<!DOCTYPE html><html><body>Oops</body></html>", "HTML page"],
    ['[{"title": "A", "permalink": "https://x/a", "contents": "trunc', "not valid JSON"],
    ['{"pages": []}', "expected an array"],
    ['[{"name": "x"}]', "no usable page"],
  ])("garbage is refused with a reason: %p", (text, reason) => {
    expect(() => parseHugoIndex(text)).toThrow(reason);
  });

  test("malformed entries among good ones are skipped and counted", () => {
    const { pages, skipped } = parseHugoIndex(
      JSON.stringify([{ title: "A", permalink: "https://x.test/a/", contents: "alpha", tags: ["t"], summary: "S" }, { title: 3 }, null]),
    );
    expect(pages).toEqual([{ id: "a", title: "A", url: "https://x.test/a/", markdown: "alpha", summary: "S", tags: ["t"], section: undefined }]);
    expect(skipped).toBe(2);
  });
});

describe("Markdown folder", () => {
  test("reads recursively with titles from front matter or the first heading, ids from paths", async () => {
    const root = temp();
    mkdirSync(join(root, "guide/deep"), { recursive: true });
    mkdirSync(join(root, ".git"));
    mkdirSync(join(root, "node_modules/pkg"), { recursive: true });
    writeFileSync(join(root, "index.md"), "---\ntitle: Home\ndescription: 'The start'\ntags: [a, b]\n---\nWelcome.\n");
    writeFileSync(join(root, "guide/Intro Page.md"), "# Introduction\n\nHello.\n");
    writeFileSync(join(root, "guide/deep/_index.md"), "Deep section without heading.\n");
    writeFileSync(join(root, "guide/notes.txt"), "not markdown");
    writeFileSync(join(root, ".git/HEAD.md"), "# hidden");
    writeFileSync(join(root, "node_modules/pkg/README.md"), "# dependency");
    const source = new FolderSource(root, "https://docs.example.test/");
    const result = await source.load();
    const pages = result!.pages;
    expect(pages.map((page) => page.id).sort()).toEqual(["guide/deep", "guide/intro-page", "index"]);
    const home = pages.find((page) => page.id === "index")!;
    expect(home).toMatchObject({ title: "Home", summary: "The start", tags: ["a", "b"], url: "https://docs.example.test/", markdown: "Welcome." });
    expect(pages.find((page) => page.id === "guide/intro-page")).toMatchObject({ title: "Introduction", url: "https://docs.example.test/guide/intro-page" });
    expect(pages.find((page) => page.id === "guide/deep")!.title).toBe("deep");
    // Unchanged files: no reload.
    expect(await source.load()).toBeUndefined();
    const future = new Date(Date.now() + 5_000);
    utimesSync(join(root, "index.md"), future, future);
    expect(await source.load()).toBeDefined();
  });

  test("an empty folder is an error, a missing path a setting error", async () => {
    await expect(new FolderSource(temp(), "https://x.test/").load()).rejects.toThrow("no Markdown files");
    await expect(createSource({ source: "/no/such/dir", selfDocsUrl: "http://localhost/docs/", dataDir: temp() })).rejects.toBeInstanceOf(SourceSettingError);
  });

  test("front matter: lists, quotes, and its absence", () => {
    expect(parseFrontMatter("---\ntitle: \"A: B\"\ntags:\n  - x\n  - y\n---\nbody").data).toEqual({ title: "A: B", tags: ["x", "y"] });
    expect(parseFrontMatter("# Just a page\n---\n").data).toEqual({});
  });
});

describe("embedded guide", () => {
  test("has the user guide pages with the server's own URLs", async () => {
    const result = await new EmbeddedSource("http://localhost:8080/docs/").load();
    const ids = result!.pages.map((page) => page.id);
    expect(ids).toContain("overview");
    expect(ids).toContain("getting-started");
    expect(ids).toContain("configuration");
    for (const page of result!.pages) {
      expect(page.url).toBe(`http://localhost:8080/docs/${page.id}`);
      expect(page.title).not.toBe(page.id);
      expect(page.markdown.length).toBeGreaterThan(200);
    }
  });
});

describe("remote Hugo index", () => {
  const good = JSON.stringify([{ title: "Renewal", permalink: "https://docs.example.test/renewal/", contents: "Certificates renew by themselves." }]);
  const state = { status: 200, body: good, type: "application/json", etag: '"v1"', requests: [] as Headers[] };
  const origin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      state.requests.push(request.headers);
      if (request.headers.get("if-none-match") === state.etag && state.status === 200) return new Response(null, { status: 304 });
      return new Response(state.body, { status: state.status, headers: { "Content-Type": state.type, ETag: state.etag } });
    },
  });
  const url = `http://127.0.0.1:${origin.port}/index.json`;
  afterAll(() => origin.stop(true));
  afterEach(() => Object.assign(state, { status: 200, body: good, type: "application/json", etag: '"v1"', requests: [] }));

  test("fetches, revalidates with ETag, and keeps the last good copy for a restart without network", async () => {
    const cacheDir = temp();
    const source = new RemoteSource({ url, cacheDir });
    expect((await source.load())!.pages[0]!.title).toBe("Renewal");
    expect(await source.load()).toBeUndefined();
    expect(state.requests.at(-1)!.get("if-none-match")).toBe('"v1"');

    // A new process while the origin is down serves the saved copy, with a warning.
    state.status = 503;
    const restarted = await new RemoteSource({ url, cacheDir }).load();
    expect(restarted!.pages[0]!.title).toBe("Renewal");
    expect(restarted!.warning).toContain("HTTP 503");
    // With no copy saved, there is nothing to serve: an error.
    await expect(new RemoteSource({ url, cacheDir: temp() }).load()).rejects.toThrow("HTTP 503");
  });

  test.each([
    ["an HTML error page", { type: "text/html", body: "<html>maintenance</html>" }, "HTML page"],
    ["truncated JSON", { body: good.slice(0, 40) }, "not valid JSON"],
    ["a 500", { status: 500 }, "HTTP 500"],
  ])("%s keeps the last good index in the library and the log says why", async (_, fault, reason) => {
    const lines: string[] = [];
    const library = new Library({ source: new RemoteSource({ url, cacheDir: temp() }), logger: createLogger("info", (line) => lines.push(line)), refreshMs: 0 });
    expect(await library.refresh()).toBe(true);
    Object.assign(state, fault, { etag: '"v2"' });
    expect(await library.refresh()).toBe(false);
    expect(library.search("renewal")[0]?.id).toBe("renewal");
    expect(library.status().lastRefreshError).toContain(reason);
    expect(lines.at(-1)).toContain("keeping the last good index");
    expect(lines.at(-1)).toContain(reason);
    library.close();
  });

  test("a refresh keeps answering searches from the index in service while the new one is built", async () => {
    const hono = await loadCorpus("hono");
    // The refreshed set: the same pages four times over, under other ids, so that its index takes a while.
    const bigger = Array.from({ length: 4 }, (_, copy) => hono.map((page) => ({ ...page, id: `copy${copy}/${page.id}` }))).flat();
    let next: Page[] = hono;
    const source: DocsSource = { description: "test pages", defaultTitle: "Test", load: async () => ({ pages: next }) };
    const library = new Library({ source, logger: createLogger("error", () => {}), refreshMs: 0 });
    expect(await library.refresh()).toBe(true);
    next = bigger;
    const during: string[] = [];
    let refreshing = true;
    const searchMeanwhile = () => {
      if (!refreshing) return;
      during.push(library.search("bearer auth")[0]!.id);
      setImmediate(searchMeanwhile);
    };
    const refreshed = library.refresh();
    setImmediate(searchMeanwhile);
    expect(await refreshed).toBe(true);
    refreshing = false;
    // Searches were answered while the new index was built, from the old one.
    expect(during.length).toBeGreaterThan(1);
    expect(during.every((id) => !id.startsWith("copy"))).toBe(true);
    expect(library.search("bearer auth")[0]!.id).toStartWith("copy");
    library.close();
  });

  test("a response over the size limit is refused while streaming", async () => {
    state.body = JSON.stringify([{ title: "Big", permalink: "https://x.test/big", contents: "x".repeat(100_000) }]);
    await expect(new RemoteSource({ url, cacheDir: temp(), maxBytes: 10_000 }).load()).rejects.toThrow("limit");
  });

  test("100 MB from the source is refused at the default limit while streaming, and the last good index stays", async () => {
    const huge = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        let sent = 0;
        const chunk = new Uint8Array(1024 * 1024).fill(0x20);
        // No Content-Length: the limit must hold while the body streams.
        return new Response(new ReadableStream({ pull(controller) { if (sent++ >= 100) controller.close(); else controller.enqueue(chunk); } }), { headers: { "Content-Type": "application/json" } });
      },
    });
    const cacheDir = temp();
    const library = new Library({ source: new RemoteSource({ url, cacheDir }), logger: createLogger("error", () => {}), refreshMs: 0 });
    expect(await library.refresh()).toBe(true);
    const before = process.memoryUsage().rss;
    const oversized = new RemoteSource({ url: `http://127.0.0.1:${huge.port}/index.json`, cacheDir });
    await expect(oversized.load()).rejects.toThrow("over the 33554432-byte limit");
    // Far less than 100 MB was held at once.
    expect(process.memoryUsage().rss - before).toBeLessThan(80 * 1024 * 1024);
    expect(library.search("renewal")[0]?.id).toBe("renewal");
    library.close();
    huge.stop(true);
  });

  test("credentials in the URL never reach the description", () => {
    expect(new RemoteSource({ url: "https://user:secret@docs.example.test/index.json", cacheDir: temp() }).description).not.toContain("secret");
  });
});

describe("Hugo file", () => {
  test("reloads only when the file changes", async () => {
    const path = join(temp(), "index.json");
    writeFileSync(path, JSON.stringify([{ title: "One", permalink: "/one/", contents: "first" }]));
    const source = new HugoFileSource(path);
    expect((await source.load())!.pages[0]!.id).toBe("one");
    expect(await source.load()).toBeUndefined();
    writeFileSync(path, JSON.stringify([{ title: "Two", permalink: "/two/", contents: "second, longer" }]));
    expect((await source.load())!.pages[0]!.id).toBe("two");
  });
});

