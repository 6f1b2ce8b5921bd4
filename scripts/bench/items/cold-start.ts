/**
 * Items 1 and 2: cold start, from spawn to the first answered MCP request,
 * against compiled baselines started the same way. The product is measured
 * to its first `server/discover` (what MCP 2026-07-28 clients send first,
 * the path they take) and, apart, to a 2025 `initialize` (which loads the
 * SDK's session transport on first use); the SDK baseline answers
 * `initialize`, the only opening it has.
 *
 * Each repetition starts every program once, in a rotating order, so that
 * load from elsewhere on the machine falls on all of them alike. One
 * unmeasured start of each program comes first (page cache, CPU frequency).
 */
import { productBinary, program } from "../lib/compile.ts";
import { issuedStore, startProduct, type ProductOptions } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, probeUntilReady, type ProbeKind } from "../lib/mcp.ts";
import { ratioRow } from "../lib/report.ts";
import { freePorts, say, spawnChild, type Child } from "../lib/runtime.ts";
import { sample } from "../lib/stats.ts";

interface Contender {
  name: string;
  probe: ProbeKind;
  scheme: "http" | "https";
  start(port: number, acmePort: number): Child;
}

/** One start: spawn, probe until the good answer, kill. Milliseconds. */
async function coldStart(contender: Contender, ca: string | undefined): Promise<number> {
  const [port, acmePort] = (await freePorts(2)) as [number, number];
  const started = performance.now();
  const child = contender.start(port, acmePort);
  try {
    const ready = await probeUntilReady(endpoint(contender.scheme, port, ca), contender.probe, started + 30_000, 1, () => child.proc.exitCode === null);
    return ready - started;
  } catch (error) {
    throw new Error(`${contender.name}: ${(error as Error).message}\n--- log ---\n${child.log().slice(-2000)}`);
  } finally {
    await child.kill();
  }
}

async function series(contenders: Contender[], count: number, ca: string | undefined): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const contender of contenders) await coldStart(contender, ca); // warm-up, not counted
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < contenders.length; j++) {
      const contender = contenders[(i + j) % contenders.length]!;
      times.get(contender.name)!.push(await coldStart(contender, ca));
    }
  }
  return times;
}

export const coldTls: Item = {
  name: "cold-tls",
  number: 1,
  title: "cold start with a cached certificate, https",
  async run(options: Options) {
    const product = await productBinary(options.binary);
    const [sdk, bare] = await Promise.all([program("sdk-per-request"), program("bare-tls")]);
    const store = await issuedStore(product.path);
    const tlsOptions: ProductOptions = { tls: { certsDir: store.certsDir, directoryUrl: store.ca.directoryUrl, caCertPath: store.ca.caCertPath } };
    const certEnv = { BENCH_CERT: store.certPath, BENCH_KEY: store.keyPath };
    const contenders: Contender[] = [
      { name: "product", probe: "discover", scheme: "https", start: (port, acmePort) => startProduct(product.path, tlsOptions, port, acmePort).child },
      { name: "product-initialize", probe: "initialize", scheme: "https", start: (port, acmePort) => startProduct(product.path, tlsOptions, port, acmePort).child },
      { name: "sdk-per-request", probe: "initialize", scheme: "https", start: (port) => spawnChild([sdk.path], { ...certEnv, BENCH_PORT: String(port) }, { name: "sdk" }) },
      { name: "bare-tls", probe: "healthz", scheme: "https", start: (port) => spawnChild([bare.path], { ...certEnv, BENCH_PORT: String(port) }, { name: "bare" }) },
    ];
    const count = reps(options, 11, 3);
    say(`item 1: ${count} cold starts of each of ${contenders.map((c) => c.name).join(", ")} (https, cached Pebble certificate)`);
    const times = await series(contenders, count, store.root);
    const measured = sample(times.get("product")!, "ms");
    const sdkSample = sample(times.get("sdk-per-request")!, "ms");
    const bareSample = sample(times.get("bare-tls")!, "ms");
    return {
      rows: [
        ratioRow("cold-tls.sdk", "1 cold start https (cached cert) → first 2026-07-28 answer (server/discover), vs SDK per-request server → initialize", measured, sdkSample, { op: "<=", value: 1.2 }),
        ratioRow("cold-tls.initialize", "1 same → a 2025 initialize (loads the SDK's session transport), vs SDK per-request server", sample(times.get("product-initialize")!, "ms"), sdkSample, undefined),
        ratioRow("cold-tls.bare", "1 product → server/discover, vs bare Bun.serve TLS → /healthz", measured, bareSample, undefined),
      ],
      details: { starts: count, times: Object.fromEntries(times), productEnv: "MCP_DOMAINS, cached Pebble certificate, embedded docs" },
    };
  },
};

export const coldHttp: Item = {
  name: "cold-http",
  number: 2,
  title: "cold start in plain HTTP",
  async run(options: Options) {
    const product = await productBinary(options.binary);
    const sdk = await program("sdk-per-request");
    const contenders: Contender[] = [
      { name: "product", probe: "discover", scheme: "http", start: (port) => startProduct(product.path, {}, port).child },
      { name: "product-initialize", probe: "initialize", scheme: "http", start: (port) => startProduct(product.path, {}, port).child },
      { name: "sdk-per-request", probe: "initialize", scheme: "http", start: (port) => spawnChild([sdk.path], { BENCH_PORT: String(port) }, { name: "sdk" }) },
    ];
    const count = reps(options, 11, 3);
    say(`item 2: ${count} cold starts of each of product, sdk-per-request (plain http, embedded docs)`);
    const times = await series(contenders, count, undefined);
    return {
      rows: [
        ratioRow(
          "cold-http.sdk",
          "2 cold start http (embedded docs) → first 2026-07-28 answer (server/discover), vs SDK per-request server → initialize",
          sample(times.get("product")!, "ms"),
          sample(times.get("sdk-per-request")!, "ms"),
          { op: "<=", value: 1.2 },
        ),
        ratioRow(
          "cold-http.initialize",
          "2 same → a 2025 initialize (loads the SDK's session transport), vs SDK per-request server",
          sample(times.get("product-initialize")!, "ms"),
          sample(times.get("sdk-per-request")!, "ms"),
          undefined,
        ),
      ],
      details: { starts: count, times: Object.fromEntries(times) },
    };
  },
};
