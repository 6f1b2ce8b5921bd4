/**
 * Item 4: MCP over https on keep-alive connections, with wrk.
 *
 * - `tools/call fetch` of a small Hono page: the product (one session opened
 *   beforehand, its id in every request) against a bare `Bun.serve` TLS
 *   endpoint answering a JSON body of the same size, and against the SDK's
 *   per-request pattern (a new SDK server and transport for every request,
 *   stateless) returning the same tool result.
 * - `tools/call search` over the Hono corpus, the 64 relevance questions in
 *   rotation: the product against the same searches run in-process in a loop
 *   (`SearchIndex` from src/search, same pages, same limit).
 * - Both again as MCP 2026-07-28 requests (stateless, `_meta` and
 *   `Mcp-Method`/`Mcp-Name` on each), the path current clients take, and
 *   with `MCP_STATELESS=true` for 2025 clients without sessions.
 *
 * Every contender runs as a separate compiled process on the same
 * certificate; they are idle while another is measured. Runs rotate through
 * concurrency levels and contenders, so drift from other load on the machine
 * falls on all of them alike.
 *
 * The product runs with MCP_MAX_REQUESTS_PER_CLIENT=1000: wrk's connections
 * all come from 127.0.0.1, and the default (32 per address) would answer the
 * 64-connection runs with 429.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseHugoIndex } from "../../../src/docs/hugo.ts";
import type { Page } from "../../../src/docs/page.ts";
import { SearchIndex } from "../../../src/search/index.ts";
import { HONO_CASES } from "../../../test/support/relevance.ts";
import { productBinary, program } from "../lib/compile.ts";
import { SEEDED_DIRECTORY, seededStore, startProduct, waitReady, type RunningProduct } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { MCP_HEADERS, call, endpoint, initializeBody, modernHeaders, modernToolCallBody, openSession, resultOf, sessionHeaders, toolCallBody, type Endpoint } from "../lib/mcp.ts";
import { naRow, ratioRow, type Row } from "../lib/report.ts";
import { DOMAIN, HONO_JSON, ensureBinary, freePorts, newDir, say, sleep, spawnChild, type Child } from "../lib/runtime.ts";
import { median, num, sample, show, type Sample } from "../lib/stats.ts";
import { wrk, type WrkResult, type WrkTarget } from "../lib/wrk.ts";

export const CONCURRENCY = [1, 16, 64] as const;
export const PRODUCT_LOAD_ENV = { MCP_MAX_REQUESTS_PER_CLIENT: "1000" };

/** The page `fetch` asks for: the Hono page whose Markdown is closest to 1 KiB. */
export function smallPage(pages: readonly Page[]): Page {
  return [...pages].sort((a, b) => Math.abs(a.markdown.length - 1024) - Math.abs(b.markdown.length - 1024) || a.id.localeCompare(b.id))[0]!;
}

export function honoPages(): Page[] {
  return parseHugoIndex(readFileSync(HONO_JSON, "utf8")).pages;
}

/** Checks one request of a contender by hand and returns the answer. */
async function check(target: Endpoint, body: string, headers: Record<string, string>): Promise<{ text: string; contentType: string | null; bytes: number }> {
  const response = await call(target, "/mcp", { body, headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  return { text, contentType: response.headers.get("content-type"), bytes: Buffer.byteLength(text) };
}

function wrkText(s: Sample, results: WrkResult[]): string {
  return `${show(s)}, p50 ${num(median(results.map((r) => r.p50)))} ms, p99 ${num(median(results.map((r) => r.p99)))} ms`;
}

export const throughput: Item = {
  name: "throughput",
  number: 4,
  title: "MCP over https with wrk (fetch and search)",
  async run(options: Options) {
    await ensureBinary("wrk");
    const product = await productBinary(options.binary);
    const [sdk, bare, sdkV2] = await Promise.all([program("sdk-per-request"), program("bare-tls"), program("sdk-v2-modern")]);
    const store = await seededStore();
    const pages = honoPages();
    const page = smallPage(pages);
    const fetchBody = toolCallBody("fetch", { id: page.id });
    const searchBodies = HONO_CASES.map((c, i) => toolCallBody("search", { query: c.question }, i + 2));
    const modernFetchBody = modernToolCallBody("fetch", { id: page.id });
    const modernSearchBodies = HONO_CASES.map((c, i) => modernToolCallBody("search", { query: c.question }, i + 2));
    const children: Child[] = [];
    const details: Record<string, unknown> = { page: { id: page.id, markdownChars: page.markdown.length }, productEnv: PRODUCT_LOAD_ENV };

    try {
      const ports = (await freePorts(8)) as number[];
      const tls = { certsDir: store.certsDir, directoryUrl: SEEDED_DIRECTORY };
      const stateful: RunningProduct = startProduct(product.path, { tls, docs: "hono", env: PRODUCT_LOAD_ENV, guard: true }, ports[0]!, ports[1]!);
      const statelessTry: RunningProduct = startProduct(product.path, { tls, docs: "hono", env: { ...PRODUCT_LOAD_ENV, MCP_STATELESS: "true" }, guard: true }, ports[2]!, ports[3]!);
      children.push(stateful.child, statelessTry.child);
      const productAt = endpoint("https", stateful.port);
      await waitReady(stateful, productAt);
      const sessionId = await openSession(productAt);

      // Is MCP_STATELESS wired? A stateless server opens no session and answers a tool call without one.
      const statelessAt = endpoint("https", statelessTry.port);
      await waitReady(statelessTry, statelessAt);
      const init = await call(statelessAt, "/mcp", { body: initializeBody(), headers: MCP_HEADERS });
      await init.arrayBuffer();
      const noSession = await call(statelessAt, "/mcp", { body: fetchBody, headers: sessionHeaders() });
      const noSessionText = await noSession.text();
      const statelessWorks = !init.headers.get("mcp-session-id") && noSession.status === 200 && noSessionText.includes('"result"');
      const statelessVerdict = statelessWorks
        ? `MCP_STATELESS=true works: no session, ${noSession.headers.get("content-type")} answers`
        : `MCP_STATELESS=true is accepted (--help lists it) but not wired: initialize still opened a session${init.headers.get("mcp-session-id") ? " (Mcp-Session-Id set)" : ""}, and a tool call without one got HTTP ${noSession.status}`;
      details.stateless = statelessVerdict;
      say(statelessVerdict);
      if (!statelessWorks) await statelessTry.child.kill();

      // The product's answers: the reference for the baselines' bodies.
      const fetched = await check(productAt, fetchBody, sessionHeaders(sessionId));
      const toolResult = resultOf(fetched.text, fetched.contentType);
      details.fetchAnswer = { contentType: fetched.contentType, bytes: fetched.bytes };
      const dir = newDir("bodies");
      const toolResultPath = join(dir, "tool-result.json");
      writeFileSync(toolResultPath, JSON.stringify(toolResult));
      const jsonAnswer = JSON.stringify({ jsonrpc: "2.0", id: 2, result: toolResult });
      const bareBodyPath = join(dir, "bare-body.json");
      writeFileSync(bareBodyPath, jsonAnswer + " ".repeat(Math.max(0, fetched.bytes - Buffer.byteLength(jsonAnswer))));
      const searched = await check(productAt, searchBodies[0]!, sessionHeaders(sessionId));
      resultOf(searched.text, searched.contentType);
      // The 2026-07-28 path answers the same tool result, as plain JSON.
      const modern = await check(productAt, modernFetchBody, modernHeaders("fetch"));
      if (JSON.stringify(resultOf(modern.text, modern.contentType).structuredContent) !== JSON.stringify(toolResult.structuredContent)) {
        throw new Error(`the 2026-07-28 answer differs from the session's: ${modern.text.slice(0, 300)}`);
      }

      const certEnv = { BENCH_CERT: store.certPath, BENCH_KEY: store.keyPath };
      const sdkChild = spawnChild([sdk.path], { ...certEnv, BENCH_PORT: String(ports[4]), BENCH_TOOL_RESULT: toolResultPath }, { guard: true, name: "sdk" });
      const bareChild = spawnChild([bare.path], { ...certEnv, BENCH_PORT: String(ports[5]), BENCH_BODY: bareBodyPath }, { guard: true, name: "bare" });
      const sdkV2Child = spawnChild([sdkV2.path], { ...certEnv, BENCH_PORT: String(ports[6]), BENCH_TOOL_RESULT: toolResultPath }, { guard: true, name: "sdk-v2" });
      const floorChild = spawnChild([bare.path], { ...certEnv, BENCH_PORT: String(ports[7]), BENCH_BODY: bareBodyPath, BENCH_PARSE: "1" }, { guard: true, name: "json-floor" });
      children.push(sdkChild, bareChild, sdkV2Child, floorChild);
      const sdkAt = endpoint("https", ports[4]!);
      const bareAt = endpoint("https", ports[5]!);
      await waitReady({ child: sdkChild, port: ports[4]! }, sdkAt);
      await waitReady({ child: bareChild, port: ports[5]! }, bareAt);
      await waitReady({ child: floorChild, port: ports[7]! }, endpoint("https", ports[7]!), undefined, "healthz");
      resultOf((await check(sdkAt, fetchBody, sessionHeaders())).text, "text/event-stream");
      const sdkV2At = endpoint("https", ports[6]!);
      // It speaks 2026-07-28 only (no initialize): ready once it answers /healthz.
      await waitReady({ child: sdkV2Child, port: ports[6]! }, sdkV2At, undefined, "healthz");
      const v2Answer = await check(sdkV2At, modernFetchBody, modernHeaders("fetch"));
      resultOf(v2Answer.text, v2Answer.contentType);
      const host = (port: number) => ({ Host: `${DOMAIN}:${port}` });
      const target = (port: number, headers: Record<string, string>, bodies: string[]): WrkTarget => ({
        url: `https://127.0.0.1:${port}/mcp`,
        method: "POST",
        headers: { ...headers, ...host(port) },
        bodies,
      });
      interface Run {
        key: string;
        target: WrkTarget;
        levels: readonly number[];
      }
      const fetchRuns: Run[] = [
        { key: "fetch:product", target: target(stateful.port, sessionHeaders(sessionId), [fetchBody]), levels: CONCURRENCY },
        { key: "fetch:bare-tls", target: target(ports[5]!, MCP_HEADERS, [fetchBody]), levels: CONCURRENCY },
        { key: "fetch:sdk-per-request", target: target(ports[4]!, sessionHeaders(), [fetchBody]), levels: CONCURRENCY },
      ];
      const searchRuns: Run[] = [{ key: "search:product", target: target(stateful.port, sessionHeaders(sessionId), searchBodies), levels: CONCURRENCY }];
      fetchRuns.push({ key: "fetch:product-2026", target: target(stateful.port, modernHeaders("fetch"), [modernFetchBody]), levels: CONCURRENCY });
      fetchRuns.push({ key: "fetch:sdk-v2-modern", target: target(ports[6]!, modernHeaders("fetch"), [modernFetchBody]), levels: [64] });
      fetchRuns.push({ key: "fetch:json-floor", target: target(ports[7]!, modernHeaders("fetch"), [modernFetchBody]), levels: [64] });
      searchRuns.push({ key: "search:product-2026", target: target(stateful.port, modernHeaders("search"), modernSearchBodies), levels: CONCURRENCY });
      if (statelessWorks) {
        fetchRuns.push({ key: "fetch:product-stateless", target: target(statelessTry.port, sessionHeaders(), [fetchBody]), levels: CONCURRENCY });
        searchRuns.push({ key: "search:product-stateless", target: target(statelessTry.port, sessionHeaders(), searchBodies), levels: CONCURRENCY });
      }
      // The in-process comparison: the same pages, the same questions in the same rotation.
      const index = SearchIndex.build(pages);
      const questions = HONO_CASES.map((c) => c.question);
      const inProcess = async (seconds: number): Promise<number> => {
        await sleep(200); // let the last wrk run's connections close
        let n = 0;
        const started = performance.now();
        const end = started + seconds * 1000;
        while (performance.now() < end) {
          for (let i = 0; i < 16; i++) index.search(questions[n++ % questions.length]!, { limit: 10 });
        }
        return n / ((performance.now() - started) / 1000);
      };

      const runs = reps(options, 3, 1);
      const seconds = reps(options, 3, 1);
      const all = [...fetchRuns, ...searchRuns];
      const count = all.reduce((sum, r) => sum + r.levels.length, 0);
      say(`item 4: ${runs} round(s) of ${count} wrk runs × ${seconds} s (c=${CONCURRENCY.join("/")}), plus the in-process search loop`);
      for (const r of all) await wrk(r.target, 16, 1); // warm-up (JIT, TLS sessions)
      await inProcess(1);

      const results = new Map<string, WrkResult[]>();
      const push = (key: string, result: WrkResult) => results.set(key, [...(results.get(key) ?? []), result]);
      const inProcessRates: number[] = [];
      for (let round = 0; round < runs; round++) {
        for (const c of CONCURRENCY) {
          const here = fetchRuns.filter((r) => r.levels.includes(c));
          // Rotate the order each round, so no contender always runs first.
          for (let j = 0; j < here.length; j++) {
            const r = here[(round + j) % here.length]!;
            push(`${r.key}@${c}`, await wrk(r.target, c, seconds));
          }
          for (const r of searchRuns.filter((r) => r.levels.includes(c))) push(`${r.key}@${c}`, await wrk(r.target, c, seconds));
        }
        inProcessRates.push(await inProcess(seconds));
      }
      index.close();

      const rows: Row[] = [];
      const rps = (key: string) => sample((results.get(key) ?? []).map((r) => r.rps), "req/s");
      const text = (key: string) => wrkText(rps(key), results.get(key) ?? []);
      const failures = [...results.entries()].filter(([, rs]) => rs.some((r) => r.failures > 0)).map(([key, rs]) => `${key}: ${rs.map((r) => r.failures).join("/")}`);
      for (const c of CONCURRENCY) {
        const at64 = c === 64;
        rows.push(
          ratioRow(`throughput.fetch.bare.c${c}`, `4 fetch https c=${c}: product (session, SSE answer) vs bare Bun.serve TLS JSON`, rps(`fetch:product@${c}`), rps(`fetch:bare-tls@${c}`), at64 ? { op: ">=", value: 0.3 } : undefined, {
            measuredText: text(`fetch:product@${c}`),
            baselineText: text(`fetch:bare-tls@${c}`),
          }),
          ratioRow(`throughput.fetch.sdk.c${c}`, `4 fetch https c=${c}: product vs SDK per-request server`, rps(`fetch:product@${c}`), rps(`fetch:sdk-per-request@${c}`), at64 ? { op: ">=", value: 5 } : undefined, {
            measuredText: text(`fetch:product@${c}`),
            baselineText: text(`fetch:sdk-per-request@${c}`),
          }),
        );
      }
      const inProcessSample = sample(inProcessRates, "search/s");
      for (const c of CONCURRENCY) {
        rows.push(
          ratioRow(`throughput.search.c${c}`, `4 search https c=${c}: product vs in-process SearchIndex loop`, rps(`search:product@${c}`), inProcessSample, c === 64 ? { op: ">=", value: 0.8 } : undefined, {
            measuredText: text(`search:product@${c}`),
          }),
        );
      }
      rows.push(
        ratioRow("throughput.2026.fetch.bare.c64", "4 fetch https c=64: MCP 2026-07-28 (stateless) vs bare Bun.serve TLS JSON", rps("fetch:product-2026@64"), rps("fetch:bare-tls@64"), { op: ">=", value: 0.5 }, { measuredText: text("fetch:product-2026@64") }),
        ratioRow("throughput.2026.fetch.sdk.c64", "4 fetch https c=64: MCP 2026-07-28 vs SDK per-request server", rps("fetch:product-2026@64"), rps("fetch:sdk-per-request@64"), { op: ">=", value: 5 }, { measuredText: text("fetch:product-2026@64") }),
        // The SDK decision, measured: the official v2 handler on the same path, same answer.
        ratioRow("throughput.2026.fetch.sdkv2.c64", "4 fetch https c=64: MCP 2026-07-28, product vs SDK v2 createMcpHandler", rps("fetch:product-2026@64"), rps("fetch:sdk-v2-modern@64"), { op: ">=", value: 1 }, {
          measuredText: text("fetch:product-2026@64"),
          baselineText: text("fetch:sdk-v2-modern@64"),
        }),
        // What bounds the two above: the least any JSON-RPC endpoint does per request, on this runtime.
        ratioRow("throughput.floor.c64", "4 https c=64: the floor of a JSON-RPC endpoint (parse the request, write the answer, nothing else) vs bare Bun.serve TLS JSON", rps("fetch:json-floor@64"), rps("fetch:bare-tls@64"), undefined, {
          measuredText: text("fetch:json-floor@64"),
          note: "the bound of the fetch targets: what JSON.parse and JSON.stringify of one request cost on Bun, before any MCP work",
        }),
        ratioRow("throughput.2026.fetch.floor.c64", "4 fetch https c=64: MCP 2026-07-28 vs that floor", rps("fetch:product-2026@64"), rps("fetch:json-floor@64"), undefined, { measuredText: text("fetch:product-2026@64") }),
        ratioRow("throughput.2026.search.c64", "4 search https c=64: MCP 2026-07-28 vs in-process loop", rps("search:product-2026@64"), inProcessSample, { op: ">=", value: 0.8 }, { measuredText: text("search:product-2026@64") }),
      );
      if (statelessWorks) {
        rows.push(
          ratioRow("throughput.stateless.fetch.bare.c64", "4 fetch https c=64: MCP_STATELESS=true vs bare Bun.serve TLS JSON", rps("fetch:product-stateless@64"), rps("fetch:bare-tls@64"), { op: ">=", value: 0.5 }, { measuredText: text("fetch:product-stateless@64") }),
          ratioRow("throughput.stateless.fetch.sdk.c64", "4 fetch https c=64: MCP_STATELESS=true vs SDK per-request server", rps("fetch:product-stateless@64"), rps("fetch:sdk-per-request@64"), { op: ">=", value: 5 }, { measuredText: text("fetch:product-stateless@64") }),
          ratioRow("throughput.stateless.search.c64", "4 search https c=64: MCP_STATELESS=true vs in-process loop", rps("search:product-stateless@64"), inProcessSample, { op: ">=", value: 0.8 }, { measuredText: text("search:product-stateless@64") }),
        );
      } else {
        rows.push(naRow("throughput.stateless", "4 MCP_STATELESS=true (plain JSON, no session)", statelessVerdict));
      }
      if (failures.length) rows.push(naRow("throughput.failures", "4 failed requests during the wrk runs", failures.join("; "), { op: "<=", value: 0 }, "0 failed"));
      details.runs = Object.fromEntries([...results.entries()].map(([key, rs]) => [key, rs.map(({ text: _, ...r }) => r)]));
      details.inProcessSearchesPerSecond = inProcessRates;
      return { rows, details };
    } finally {
      await Promise.all(children.map((child) => child.kill()));
    }
  },
};
