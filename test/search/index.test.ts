import { afterAll, describe, expect, test } from "bun:test";
import type { Page } from "../../src/docs/page.ts";
import { splitSections } from "../../src/docs/sections.ts";
import { DEFAULT_LIMIT, MAX_LIMIT, SNIPPET_MAX_CHARS, SearchIndex } from "../../src/search/index.ts";
import { rankPages } from "../../src/search/rank.ts";
import { loadCorpus } from "../support/corpora.ts";

function page(id: string, title: string, markdown: string, extra: Partial<Page> = {}): Page {
  return { id, title, url: `https://docs.example/${id}`, markdown, ...extra };
}

const SMALL = [
  page("billing/renewal", "Subscription renewal", "Subscriptions are renewed every month.\n\n## Cancel\nYou can cancel any time."),
  page(
    "limits",
    "Limits",
    [
      "Intro about limits.",
      "## Request size",
      "Use the option below.",
      "```ts",
      "app.use(bodyLimit({ maxSize: 1024 }))",
      "```",
      "## Request size",
      "A second section with the same heading.",
      "## Empty",
      "## Filled",
      "This comes after an empty section.",
    ].join("\n"),
  ),
  page("throttle", "Throttling", "## Setup\n\n```ts\napp.use(rateLimiter({ windowMs: 60_000 }))\n```\n"),
  page("misc", "Miscellaneous", "Nothing to see here.", { summary: "Odds and ends", tags: ["kitchen-sink"] }),
];

describe("SearchIndex on a small corpus", () => {
  const index = SearchIndex.build(SMALL);
  afterAll(() => index.close());

  test("counts pages and sections", () => {
    expect(index.pageCount).toBe(SMALL.length);
    expect(index.sectionCount).toBe(SMALL.reduce((n, p) => n + splitSections(p).length, 0));
  });

  test("stemming: renewing finds the page about renewal", () => {
    expect(index.search("renewing")[0]).toMatchObject({ id: "billing/renewal", heading: "Subscription renewal" });
  });

  test("a hit in the lead section has no fragment; a hit in a section links to its anchor", () => {
    const lead = index.search("subscription renewal")[0]!;
    expect(lead.url).toBe("https://docs.example/billing/renewal");
    const cancel = index.search("cancel")[0]!;
    expect(cancel).toMatchObject({ id: "billing/renewal", heading: "Cancel", url: "https://docs.example/billing/renewal#cancel" });
  });

  test("a page matched only by its title links to the page itself", () => {
    expect(index.search("throttling")[0]).toMatchObject({
      id: "throttle",
      heading: "Throttling",
      url: "https://docs.example/throttle",
      snippet: "app.use(rateLimiter({ windowMs: 60_000 }))",
    });
  });

  test("duplicate headings link to their deduplicated anchors", () => {
    expect(index.search("second section same heading")[0]!.url).toBe("https://docs.example/limits#request-size-1");
  });

  test("camelCase identifiers in code are found by their words", () => {
    const hit = index.search("rate limiter")[0]!;
    expect(hit).toMatchObject({ id: "throttle", url: "https://docs.example/throttle#setup" });
    expect(hit.snippet).toBe("app.use(rateLimiter({ windowMs: 60_000 }))");
  });

  test("summary and tags are searchable", () => {
    expect(index.search("odds ends")[0]?.id).toBe("misc");
    expect(index.search("kitchen sink")[0]?.id).toBe("misc");
  });

  test("a section without text of its own shows the next section's text", () => {
    const hit = index.search("empty")[0]!;
    expect(hit.heading).toBe("Empty");
    expect(hit.snippet).toBe("This comes after an empty section.");
  });

  test("no match, no hits", () => {
    expect(index.search("zebra")).toEqual([]);
  });
});

describe("SearchIndex on the Hono corpus", async () => {
  const pages = await loadCorpus("hono");
  const index = SearchIndex.build(pages);
  afterAll(() => index.close());

  test("indexes every page, split into sections", () => {
    expect(index.pageCount).toBe(85);
    expect(index.sectionCount).toBeGreaterThan(500);
  });

  test("one hit per page, best first, default limit 10, max 50", () => {
    const hits = index.search("middleware");
    expect(hits).toHaveLength(DEFAULT_LIMIT);
    expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    expect(index.search("hono", { limit: 1000 })).toHaveLength(MAX_LIMIT);
    expect(index.search("hono", { limit: 3 })).toHaveLength(3);
    expect(index.search("hono", { limit: 0 })).toHaveLength(1);
    expect(index.search("hono", { limit: Number.NaN })).toHaveLength(DEFAULT_LIMIT);
  });

  test("hits carry the page's id, title and URL, plus the section's anchor", () => {
    const [hit] = index.search("how do I limit the request body size");
    const body = pages.find((p) => p.id === "docs/middleware/builtin/body-limit")!;
    expect(hit).toMatchObject({ id: body.id, title: body.title });
    expect(hit!.url.startsWith(body.url)).toBe(true);
    expect(hit!.score).toBeGreaterThan(0);
  });

  test("snippets are short plain text around the match", () => {
    for (const q of ["set a cookie", "serve static files with bun", "streamSSE", "cors origin", "jsx renderer"]) {
      for (const hit of index.search(q)) {
        expect(hit.snippet.length).toBeLessThanOrEqual(SNIPPET_MAX_CHARS);
        expect(hit.snippet).not.toMatch(/```|~~~|\n|<Badge|^#/);
      }
    }
    expect(index.search("streamSSE")[0]!.snippet).toContain("streamSSE(c");
  });

  test("prefix: middlew* finds the middleware pages, the bare fragment does not", () => {
    const hits = index.search("middlew*");
    expect(hits.length).toBeGreaterThan(5);
    for (const hit of hits.slice(0, 5)) expect(`${hit.title} ${hit.heading}`).toMatch(/middleware/i);
    expect(index.search("middlew")).toEqual([]);
  });

  test("a word from a title ranks that page first", () => {
    expect(index.search("etag")[0]!.id).toBe("docs/middleware/builtin/etag");
    expect(index.search("Supabase")[0]!.id).toBe("docs/getting-started/supabase-functions");
  });

  test("compound words match as phrases", () => {
    expect(index.search("next.js")[0]!.id).toBe("docs/getting-started/nextjs");
    expect(index.search("Lambda@Edge")[0]!.id).toBe("docs/getting-started/lambda-edge");
  });

  test("API names in code reach their section", () => {
    expect(index.search("c.req.param")[0]!.url).toBe("https://hono.dev/docs/api/request#param");
    expect(index.search("upgradeWebSocket")[0]!.id).toBe("docs/helpers/websocket");
  });
});

describe("SearchIndex on the DTZ corpus", async () => {
  const index = SearchIndex.build(await loadCorpus("dtz"));
  afterAll(() => index.close());

  test("stemming: subscribing finds the page that says subscribe", () => {
    expect(index.search("subscribing to feeds")[0]!.id).toBe("flows/rss-2-email");
  });

  test("plural and -ing forms meet: forwarding logs", () => {
    expect(index.search("forwarded logs")[0]!.id).toBe("observability/sources/google-logging");
  });

  test("the site root page gets the id index", () => {
    expect(index.search("organizational construct").map((h) => h.id)).toContain("index");
  });
});

test("close() frees the database; the index is unusable afterwards", () => {
  const index = SearchIndex.build(SMALL);
  index.close();
  expect(() => index.search("renewal")).toThrow();
});

test("an empty index finds nothing", () => {
  const index = SearchIndex.build([]);
  expect(index.pageCount).toBe(0);
  expect(index.search("anything")).toEqual([]);
  index.close();
});

describe("rankPages", () => {
  // Sections 1–2 belong to page 0, 3–4 to page 1, 5 to page 2.
  const pageOf = [0, 0, 0, 1, 1, 2];
  const sectionCount = 100;
  const pageCount = 3;
  /** One term's matches, as the index hands them over. */
  const term = (...matches: { rowid: number; score: number }[]) => ({
    rowids: Int32Array.from(matches.map((m) => m.rowid)),
    scores: Float32Array.from(matches.map((m) => m.score)),
    count: matches.length,
  });

  test("the page covering more of the question beats one repeating a single word", () => {
    const ranked = rankPages({
      sections: [term({ rowid: 1, score: 9 }, { rowid: 3, score: 3 }), term({ rowid: 4, score: 3 })],
      titles: [term(), term()],
      pageOf,
      sectionCount,
      pageCount,
    });
    expect(ranked.map((r) => [r.page, r.section])).toEqual([[1, 3], [0, 1]]);
  });

  test("one entry per page, with its best section; a title-only match has no section", () => {
    const ranked = rankPages({
      sections: [term({ rowid: 1, score: 1 }, { rowid: 2, score: 2 })],
      titles: [term({ rowid: 2, score: 5 })],
      pageOf,
      sectionCount,
      pageCount,
    });
    expect(ranked.map((r) => [r.page, r.section])).toEqual([[2, null], [0, 2]]);
  });

  test("ties keep page order; no matches, no pages", () => {
    const tie = rankPages({ sections: [term({ rowid: 3, score: 1 }, { rowid: 1, score: 1 })], titles: [term()], pageOf, sectionCount, pageCount });
    expect(tie.map((r) => r.page)).toEqual([0, 1]);
    expect(rankPages({ sections: [term()], titles: [term()], pageOf, sectionCount, pageCount })).toEqual([]);
  });

  test("a limit keeps the best pages in order, the same as ranking all and cutting", () => {
    const many = term(...Array.from({ length: 90 }, (_, i) => ({ rowid: i + 1, score: (i * 37) % 11 })));
    const pages = Array.from({ length: 91 }, (_, rowid) => Math.max(0, rowid - 1));
    const all = rankPages({ sections: [many], titles: [term()], pageOf: pages, sectionCount, pageCount: 90 });
    const top = rankPages({ sections: [many], titles: [term()], pageOf: pages, sectionCount, pageCount: 90, limit: 10 });
    expect(top).toEqual(all.slice(0, 10));
  });

  test("refuses more terms than its bit mask holds", () => {
    const many = Array.from({ length: 33 }, () => term());
    expect(() => rankPages({ sections: many, titles: many, pageOf, sectionCount, pageCount })).toThrow(RangeError);
  });
});

describe("snippets and term matches", () => {
  const filler = Array.from({ length: 80 }, (_, i) => `filler${i}`).join(" ");
  const pages = [
    page("long", "Long page", `${filler} Renewals happen monthly unless cancelled. ${filler}`),
    ...Array.from({ length: 6 }, (_, i) => page(`common${i}`, `Common ${i}`, `Every page says widget${i === 0 ? " and gizmo" : ""}.`)),
  ];
  const index = SearchIndex.build(pages);
  const uncached = SearchIndex.build(pages, { termCacheSize: 0 });
  afterAll(() => {
    index.close();
    uncached.close();
  });

  test("a snippet starts near the first word matching a query term's stem, ellipses mark cuts", () => {
    const { snippet } = index.search("renewing")[0]!;
    expect(snippet).toMatch(/^…filler\d+ .*Renewals happen monthly/);
    expect(snippet.endsWith("…")).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(SNIPPET_MAX_CHARS);
  });

  test("without a matching word in the body the snippet shows the beginning", () => {
    expect(index.search("long page")[0]).toMatchObject({ id: "long", snippet: expect.stringMatching(/^filler0 filler1 /) });
  });

  test("a term in most sections still counts; cached and uncached answers agree", () => {
    expect(index.search("widget gizmo")[0]!.id).toBe("common0");
    expect(index.search("widget").length).toBe(6);
    for (const q of ["widget gizmo", "renewing", "widget", "page", "widget gizmo"]) {
      expect(index.search(q)).toEqual(uncached.search(q));
    }
  });
});

describe("buildGradually", () => {
  test("builds the same index as build, giving the event loop turns on the way", async () => {
    const pages = await loadCorpus("hono");
    let turns = 0;
    let counting = true;
    const count = () => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const gradual = await SearchIndex.buildGradually(pages);
    counting = false;
    const atOnce = SearchIndex.build(pages);
    try {
      // Indexing the Hono docs takes far longer than one slice: other work ran between slices.
      expect(turns).toBeGreaterThan(1);
      for (const query of ["bearer auth", "streaming SSE", "jsx render", "`hono/cors`", "valid*"]) {
        expect(gradual.search(query)).toEqual(atOnce.search(query));
      }
      expect(gradual.sectionCount).toBe(atOnce.sectionCount);
    } finally {
      gradual.close();
      atOnce.close();
    }
  });
});
