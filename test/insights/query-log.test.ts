import { describe, expect, test } from "bun:test";
import { normalizeQuery, QueryLog } from "../../src/insights/query-log.ts";

describe("QueryLog", () => {
  test("queries are normalised: case, whitespace, trailing punctuation", () => {
    expect(normalizeQuery("  How do I  SET a Cookie?? ")).toBe("how do i set a cookie");
  });

  test("a query is shown only once 3 distinct clients asked it; counts include every search", () => {
    const log = new QueryLog({ now: () => 1_000 });
    for (let i = 0; i < 10; i++) log.record("private question", 0, "one-client");
    log.record("set a cookie", 4, "a");
    log.record("Set a cookie", 4, "b");
    expect(log.view().top).toEqual([]);
    log.record("set a cookie?", 2, "c");
    const view = log.view();
    expect(view).toMatchObject({ queries: 13, zeroResults: 10, top: [{ query: "set a cookie", count: 3 }], topZero: [] });
  });

  test("the window slides: buckets older than it are dropped", () => {
    let now = 0;
    const log = new QueryLog({ windowMs: 4_000, buckets: 4, minClients: 1, now: () => now });
    log.record("old", 0, "a");
    now = 2_500;
    log.record("new", 1, "a");
    expect(log.view().queries).toBe(2);
    now = 4_500;
    expect(log.view()).toMatchObject({ queries: 1, top: [{ query: "new", count: 1 }] });
  });

  test("replicas' buckets merge, and their clients count towards the threshold", () => {
    const a = new QueryLog({ now: () => 5_000 });
    const b = new QueryLog({ now: () => 5_000 });
    a.record("deploy to vercel", 3, "x");
    a.record("deploy to vercel", 3, "y");
    b.record("deploy to vercel", 3, "y");
    expect(a.view(10, b.buckets()).top).toEqual([]);
    b.record("deploy to vercel", 3, "z");
    expect(a.view(10, b.buckets())).toMatchObject({ queries: 4, top: [{ query: "deploy to vercel", count: 4 }] });
  });
});
