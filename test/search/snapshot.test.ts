import { describe, expect, test } from "bun:test";
import { EmbeddedSource } from "../../src/docs/embedded-source.ts";
import { SearchIndex } from "../../src/search/index.ts";
import { loadCorpus } from "../support/corpora.ts";

const QUERIES = ["bearer auth", "streaming SSE", '"basic auth"', "valid*", "jsx render", "`hono/cors`", "getConnInfo"];

describe("SearchIndex snapshots", () => {
  test("a restored index answers exactly as the built one, with URLs from the pages it is given", async () => {
    const pages = await loadCorpus("hono");
    const built = SearchIndex.build(pages);
    const snapshot = built.snapshot(pages);
    // The same pages published elsewhere: only their URLs differ.
    const moved = pages.map((page) => ({ ...page, url: page.url.replace("https://hono.dev/", "https://mirror.example/") }));
    const restored = SearchIndex.restore(snapshot, moved)!;
    expect(restored).toBeDefined();
    try {
      expect(restored.sectionCount).toBe(built.sectionCount);
      for (const query of QUERIES) {
        const expected = built.search(query).map((hit) => ({ ...hit, url: hit.url.replace("https://hono.dev/", "https://mirror.example/") }));
        expect(expected.length).toBeGreaterThan(0);
        expect(restored.search(query)).toEqual(expected);
      }
      expect(restored.matchCount("middleware")).toBe(built.matchCount("middleware"));
    } finally {
      built.close();
      restored.close();
    }
  });

  test("a snapshot stands in only for the pages it was made of, and only if it is whole", async () => {
    const pages = (await loadCorpus("hono")).slice(0, 20);
    const built = SearchIndex.build(pages);
    const snapshot = built.snapshot(pages);
    built.close();
    const edited = pages.map((page, i) => (i === 3 ? { ...page, markdown: `${page.markdown}\n\nOne more sentence.` } : page));
    expect(SearchIndex.restore(snapshot, edited)).toBeUndefined();
    expect(SearchIndex.restore(snapshot, pages.slice(1))).toBeUndefined();
    expect(SearchIndex.restore(snapshot.subarray(0, snapshot.length - 100), pages)).toBeUndefined();
    expect(SearchIndex.restore(new Uint8Array([1, 2, 3]), pages)).toBeUndefined();
    const again = SearchIndex.restore(snapshot, pages);
    expect(again?.pageCount).toBe(20);
    again?.close();
  });

  test("the embedded guide comes with its index, made when the server was compiled, and it fits the guide", async () => {
    const loaded = (await new EmbeddedSource("https://docs.example.test/docs/").load())!;
    expect(loaded.prebuiltIndex?.byteLength).toBeGreaterThan(10_000);
    const restored = SearchIndex.restore(loaded.prebuiltIndex!, loaded.pages)!;
    expect(restored).toBeDefined();
    const built = SearchIndex.build(loaded.pages);
    try {
      for (const query of ["certificate renewal", "MCP_DOCS_SOURCE", "connect Claude"]) expect(restored.search(query)).toEqual(built.search(query));
      expect(restored.search("certificate renewal")[0]!.url).toStartWith("https://docs.example.test/docs/");
    } finally {
      restored.close();
      built.close();
    }
  });
});
