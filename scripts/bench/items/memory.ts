/**
 * Item 6: resident memory, after start and after 10,000 searches over MCP
 * (plain http, keep-alive, 8 at a time), against the SDK per-request server
 * of item 1 after as many tool calls. The product serves the Hono corpus and
 * is asked as MCP 2026-07-28 clients ask (stateless requests, the main
 * path); the baseline answers every 2025 call with the product's own search
 * result for the first question (it has no index).
 *
 * RSS is read from /proc half a second after the last answer; beside it,
 * its private part (RssAnon, without the executable's shared file pages),
 * and the product serving its embedded guide. Each server is ready when it
 * answers the way its clients open: server/discover for the product (a
 * 2026-07-28 client sends no initialize, so the SDK's session transport is
 * never loaded), initialize for the baseline.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HONO_CASES } from "../../../test/support/relevance.ts";
import { productBinary, program } from "../lib/compile.ts";
import { startProduct, waitReady } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, modernHeaders, modernToolCallBody, resultOf, sessionHeaders, toolCallBody, type Endpoint } from "../lib/mcp.ts";
import { ratioRow } from "../lib/report.ts";
import { freePorts, newDir, privateMiB, rssMiB, say, sleep, spawnChild, type Child } from "../lib/runtime.ts";
import { sample } from "../lib/stats.ts";

const CONCURRENT = 8;

/** Sends `total` search calls, `CONCURRENT` at a time; throws on any non-200. */
async function searches(target: Endpoint, headers: Record<string, string>, total: number, modern: boolean): Promise<void> {
  const bodies = HONO_CASES.map((c, i) => (modern ? modernToolCallBody : toolCallBody)("search", { query: c.question }, i + 2));
  const url = `${target.origin}/mcp`;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const response = await fetch(url, { method: "POST", body: bodies[i % bodies.length], headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`search ${i}: HTTP ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT }, worker));
}

export const memory: Item = {
  name: "memory",
  number: 6,
  title: "memory after start and after 10,000 searches",
  async run(options: Options) {
    const product = await productBinary(options.binary);
    const sdk = await program("sdk-per-request");
    const total = reps(options, 10_000, 2_000);
    const runs = reps(options, 3, 1);
    const rss = { product: { start: [] as number[], after: [] as number[] }, sdk: { start: [] as number[], after: [] as number[] } };
    // Beside RSS: its private part at start, and the product serving its embedded guide (an index built at compile time).
    const privateStart = { product: [] as number[], sdk: [] as number[], embedded: [] as number[] };
    const embeddedStart: number[] = [];
    let toolResultPath: string | undefined;
    say(`item 6: ${runs} run(s) of ${total} searches each, product vs sdk-per-request (plain http)`);

    for (let run = 0; run < runs; run++) {
      // The product first: its answer is the baseline's canned result.
      const [port] = (await freePorts(1)) as [number];
      const server = startProduct(product.path, { docs: "hono" }, port);
      const at = endpoint("http", port);
      try {
        // Ready when it answers as a 2026-07-28 client opens (server/discover): such a client never sends initialize.
        await waitReady(server, at, undefined, "discover");
        await sleep(500);
        rss.product.start.push(rssMiB(server.child.proc.pid));
        privateStart.product.push(privateMiB(server.child.proc.pid));
        if (!toolResultPath) {
          const response = await fetch(`${at.origin}/mcp`, { method: "POST", body: modernToolCallBody("search", { query: HONO_CASES[0]!.question }), headers: modernHeaders("search") });
          const dir = newDir("memory");
          mkdirSync(dir, { recursive: true });
          toolResultPath = join(dir, "search-result.json");
          writeFileSync(toolResultPath, JSON.stringify(resultOf(await response.text(), response.headers.get("content-type"))));
        }
        await searches(at, modernHeaders("search"), total, true);
        await sleep(500);
        rss.product.after.push(rssMiB(server.child.proc.pid));
      } finally {
        await server.child.kill();
      }

      const [sdkPort] = (await freePorts(1)) as [number];
      const child: Child = spawnChild([sdk.path], { BENCH_PORT: String(sdkPort), BENCH_TOOL_RESULT: toolResultPath! }, { name: "sdk" });
      const sdkAt = endpoint("http", sdkPort);
      try {
        await waitReady({ child, port: sdkPort }, sdkAt);
        await sleep(500);
        rss.sdk.start.push(rssMiB(child.proc.pid));
        privateStart.sdk.push(privateMiB(child.proc.pid));
        await searches(sdkAt, sessionHeaders(), total, false);
        await sleep(500);
        rss.sdk.after.push(rssMiB(child.proc.pid));
      } finally {
        await child.kill();
      }
    }

    for (let run = 0; run < runs; run++) {
      const [port] = (await freePorts(1)) as [number];
      const server = startProduct(product.path, {}, port);
      try {
        await waitReady(server, endpoint("http", port), undefined, "discover");
        await sleep(500);
        embeddedStart.push(rssMiB(server.child.proc.pid));
        privateStart.embedded.push(privateMiB(server.child.proc.pid));
      } finally {
        await server.child.kill();
      }
    }

    return {
      rows: [
        ratioRow("memory.start", "6 RSS after start (http, Hono docs), vs SDK per-request server", sample(rss.product.start, "MiB"), sample(rss.sdk.start, "MiB"), { op: "<=", value: 1.2 }),
        ratioRow("memory.start.private", "6 private memory (RssAnon) after start, Hono docs, vs SDK per-request server", sample(privateStart.product, "MiB"), sample(privateStart.sdk, "MiB")),
        ratioRow("memory.start.embedded", "6 RSS after start serving the embedded guide (index built at compile time), vs SDK per-request server", sample(embeddedStart, "MiB"), sample(rss.sdk.start, "MiB")),
        ratioRow("memory.start.embedded.private", "6 private memory after start, embedded guide, vs SDK per-request server", sample(privateStart.embedded, "MiB"), sample(privateStart.sdk, "MiB")),
        ratioRow(`memory.after`, `6 RSS after ${total.toLocaleString("en")} searches over MCP, vs SDK per-request after as many calls`, sample(rss.product.after, "MiB"), sample(rss.sdk.after, "MiB"), { op: "<=", value: 1.2 }),
      ],
      details: { searches: total, concurrent: CONCURRENT, rssMiB: rss, privateStartMiB: privateStart, embeddedStartMiB: embeddedStart },
    };
  },
};
