/**
 * Item 3: certificate issuance, spawn → serving https (an answered
 * `initialize`), against a local Pebble with PEBBLE_VA_NOSLEEP=1 and
 * PEBBLE_AUTHZREUSE=0, so that every order is validated. The baseline is a
 * bare acme-client script placing the same order, then serving.
 *
 * Both start from nothing (no account, no certificate): a new certificate
 * store for the product every time, a new account key for the script.
 * The probe retries every 10 ms here: issuance takes a second or so, and a
 * tighter loop would only take CPU from the issuing process and Pebble.
 */
import { productBinary, program } from "../lib/compile.ts";
import { pebble, startProduct } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, probeUntilReady } from "../lib/mcp.ts";
import { ratioRow } from "../lib/report.ts";
import { DOMAIN, freePorts, newDir, say, spawnChild, type Child } from "../lib/runtime.ts";
import { sample } from "../lib/stats.ts";

export const issuance: Item = {
  name: "issuance",
  number: 3,
  title: "certificate issuance against Pebble",
  async run(options: Options) {
    const product = await productBinary(options.binary);
    const script = await program("acme-order");
    const [acmePort] = (await freePorts(1)) as [number];
    const ca = await pebble({ httpPort: acmePort, noSleep: true, authzReuse: 0 });
    const root = await ca.root();

    const contenders: { name: string; start: (port: number) => Child }[] = [
      {
        name: "product",
        start: (port) =>
          startProduct(product.path, { tls: { certsDir: newDir("certs-issue"), directoryUrl: ca.directoryUrl, caCertPath: ca.caCertPath } }, port, acmePort).child,
      },
      {
        name: "acme-client",
        start: (port) =>
          spawnChild(
            [script.path],
            { BENCH_DIRECTORY: ca.directoryUrl, BENCH_DOMAIN: DOMAIN, BENCH_ACME_PORT: String(acmePort), BENCH_PORT: String(port), NODE_EXTRA_CA_CERTS: ca.caCertPath },
            { name: "acme-order" },
          ),
      },
    ];

    const once = async (contender: (typeof contenders)[number]): Promise<number> => {
      const [port] = (await freePorts(1)) as [number];
      const started = performance.now();
      const child = contender.start(port);
      try {
        const ready = await probeUntilReady(endpoint("https", port, root), "initialize", started + 60_000, 10, () => child.proc.exitCode === null);
        return ready - started;
      } catch (error) {
        throw new Error(`${contender.name}: ${(error as Error).message}\n--- log ---\n${child.log().slice(-3000)}`);
      } finally {
        await child.kill();
      }
    };

    const count = reps(options, 7, 2);
    say(`item 3: ${count} issuances by each of product, acme-client script`);
    for (const contender of contenders) await once(contender); // warm-up, not counted
    const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < contenders.length; j++) {
        const contender = contenders[(i + j) % contenders.length]!;
        times.get(contender.name)!.push(await once(contender));
      }
    }
    const issued = ca.certificatesIssued();
    await ca.stop();
    return {
      rows: [
        ratioRow(
          "issuance.acme-client",
          "3 issuance spawn → https initialize (Pebble, no sleep, no authz reuse), vs acme-client script",
          sample(times.get("product")!, "ms"),
          sample(times.get("acme-client")!, "ms"),
          { op: "<=", value: 1.2 },
        ),
      ],
      details: { issuances: count, certificatesIssued: issued, times: Object.fromEntries(times) },
    };
  },
};
