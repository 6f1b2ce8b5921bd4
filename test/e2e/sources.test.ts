import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { corpusPath } from "../support/corpora.ts";
import { connectClient, startTestServer, tempDir, toolJson } from "../support/server.ts";

test("a Hugo JSON file serves as source, over both transports", async () => {
  await using server = await startTestServer({ MCP_DOCS_SOURCE: corpusPath("hono") });
  for (const transport of ["streamable", "sse"] as const) {
    const client = await connectClient(server.url, transport);
    const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "how do I limit the request body size" } }));
    expect(results[0].id).toBe("docs/middleware/builtin/body-limit");
    expect(results[0].url).toStartWith("https://hono.dev/docs/middleware/builtin/body-limit");
    const page = toolJson(await client.callTool({ name: "fetch", arguments: { id: results[0].id } }));
    expect(page.title).toBe("Body Limit Middleware");
    expect(page.text).toContain("bodyLimit");
    await client.close();
  }
  const health = await (await fetch(new URL("/healthz", server.url))).json();
  expect(health.pages).toBe(85);
});

test("a Markdown folder serves as source, with its base URL", async () => {
  const docs = tempDir();
  mkdirSync(join(docs.path, "guide"));
  writeFileSync(join(docs.path, "guide/renewals.md"), "---\ntitle: Certificate renewals\n---\n\nCertificates are renewed when a third of their lifetime is left.\n\n## Backoff\n\nFailures are retried.\n");
  writeFileSync(join(docs.path, "index.md"), "# Welcome\n\nStart here.\n");
  await using server = await startTestServer({ MCP_DOCS_SOURCE: docs.path, MCP_DOCS_BASE_URL: "https://docs.example.test/" });
  const client = await connectClient(server.url, "streamable");
  const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "renewing" } }));
  expect(results[0]).toMatchObject({ id: "guide/renewals", title: "Certificate renewals" });
  expect(results[0].url).toStartWith("https://docs.example.test/guide/renewals");
  const read = await client.readResource({ uri: "docs://guide/renewals" });
  expect((read.contents[0] as { text: string }).text).toContain("third of their lifetime");
  await client.close();
  docs.remove();
});
