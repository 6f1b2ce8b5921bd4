/**
 * Several documentation sets in one server (MCP_DOCS_SOURCES): the Hono
 * docs from their Hugo export and MkDocs's docs from its sitemap.xml, over
 * MCP as clients see them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { corpusPath } from "../support/corpora.ts";
import { callTool } from "../support/modern-call.ts";
import { connectClient, startTestServer, toolJson, type TestServer } from "../support/server.ts";
import { serveSite, type StaticSite } from "../support/static-site.ts";

describe("several documentation sets", () => {
  let site: StaticSite;
  let server: TestServer;
  beforeAll(async () => {
    site = serveSite("mkdocs", "https://www.mkdocs.org");
    server = await startTestServer({ MCP_DOCS_SOURCES: `hono@4=${corpusPath("hono")},hono@3=${corpusPath("hono")};refresh=off,mkdocs@1.4=${site.origin}/sitemap.xml` });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
    site?.stop();
  });

  test("tools/list is search, fetch, list_sources; list_sources names every set and version", async () => {
    const client = await connectClient(server.url, "streamable");
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["search", "fetch", "list_sources"]);
    for (const tool of tools) expect(JSON.stringify(tool).length).toBeLessThan(2048);
    expect(tools[2]!.annotations?.readOnlyHint).toBe(true);
    const { sources } = toolJson(await client.callTool({ name: "list_sources", arguments: {} }));
    expect(sources.map((s: { name: string; version: string; latest: boolean }) => [s.name, s.version, s.latest])).toEqual([
      ["hono", "4", true],
      ["hono", "3", false],
      ["mkdocs", "1.4", true],
    ]);
    expect(sources[0].pages).toBe(85);
    expect(sources[0].idPrefix).toBe("hono/4/");
    await client.close();
  });

  test("search(query) alone searches the newest of each set; results say their set and version; ids are namespaced and fetchable", async () => {
    const port = server.port;
    const { structured } = await callTool(port, "search", { query: "how do I limit the request body size" });
    expect(structured.results[0]).toMatchObject({ id: "hono/4/docs/middleware/builtin/body-limit", source: "hono", version: "4" });
    expect(structured.results.some((hit: { version: string }) => hit.version === "3")).toBe(false);
    const mk = await callTool(port, "search", { query: "deploy to github pages", source: "mkdocs" });
    expect(mk.structured.results[0]).toMatchObject({ id: "mkdocs/1.4/user-guide/deploying-your-docs", source: "mkdocs", version: "1.4" });
    const old = await callTool(port, "search", { query: "set a cookie", source: "hono", version: "3" });
    expect(old.structured.results[0].id).toBe("hono/3/docs/helpers/cookie");
    const page = await callTool(port, "fetch", { id: "hono/3/docs/helpers/cookie" });
    expect(page.structured.title).toBe("Cookie Helper");
    const client = await connectClient(server.url, "streamable");
    const read = await client.readResource({ uri: "docs://mkdocs/1.4/user-guide/cli" });
    expect((read.contents[0] as { text: string }).text).toContain("mkdocs build");
    await client.close();
  });

  test("an unknown source or version is a tool error that lists the sets", async () => {
    const unknown = await callTool(server.port, "search", { query: "cookie", source: "fastify" });
    expect(unknown.error).toContain('No documentation set is named "fastify". The sets are: hono@4, hono@3, mkdocs@1.4.');
    const version = await callTool(server.port, "search", { query: "cookie", source: "hono", version: "5" });
    expect(version.error).toContain('hono has no version "5"');
  });

  test("typos are corrected and said so; a query of stop words gets a hint, not pages", async () => {
    const typo = await callTool(server.port, "search", { query: "set a cokoie", source: "hono" });
    expect(typo.structured.correctedQuery).toBe("set a cookie");
    expect(typo.structured.notice).toContain("showing results for set a cookie");
    expect(typo.structured.results[0].id).toBe("hono/4/docs/helpers/cookie");
    const stop = await callTool(server.port, "search", { query: "how to do it" });
    expect(stop.structured.results).toEqual([]);
    expect(stop.structured.notice).toContain("only common words");
  });

  test("healthz adds up the sets and lists each", async () => {
    const health = await (await fetch(new URL("/healthz", server.url))).json();
    expect(health.sets.map((set: { name: string; version: string }) => `${set.name}@${set.version}`)).toEqual(["hono@4", "hono@3", "mkdocs@1.4"]);
    expect(health.pages).toBe(85 + 85 + health.sets[2].pages);
  });
});
