/**
 * Item 3: certificate issuance, spawn → serving https (the product's first
 * answered `server/discover`; the script's canned answer), against a local Pebble with PEBBLE_VA_NOSLEEP=1 and
 * PEBBLE_AUTHZREUSE=0, so that every order is validated. The baseline is a
 * bare acme-client script placing the same order, then serving.
 *
 * Both start from nothing (no account, no certificate): a new certificate
 * store for the product every time, a new account key for the script.
 *
 * Beside it, the product's DNS-01 issuance (RFC 2136 with TSIG to a real
 * BIND on loopback, against a second Pebble whose VA resolves through that
 * BIND), reported against the product's own HTTP-01 issuance: what the
 * update, the wait for the record at the authoritative server and the TXT
 * validation cost compared with a port-80 challenge. No target: it is the
 * price of a closed port 80, not something to beat.
 * The probe retries every 10 ms here: issuance takes a second or so, and a
 * tighter loop would only take CPU from the issuing process and Pebble.
 */
import { productBinary, program } from "../lib/compile.ts";
import { pebble, startProduct } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, probeUntilReady } from "../lib/mcp.ts";
import { ratioRow } from "../lib/report.ts";
import { startBind } from "../../../test/support/bind.ts";
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
    say("starting BIND for DNS-01");
    const bind = await startBind();
    const [unusedHttpPort] = (await freePorts(1)) as [number];
    const dnsCa = await pebble({ httpPort: unusedHttpPort, noSleep: true, authzReuse: 0, dnsServer: bind.address });
    const dnsRoot = await dnsCa.root();

    const contenders: { name: string; root: string; start: (port: number) => Child }[] = [
      {
        name: "product",
        root,
        start: (port) =>
          startProduct(product.path, { tls: { certsDir: newDir("certs-issue"), directoryUrl: ca.directoryUrl, caCertPath: ca.caCertPath } }, port, acmePort).child,
      },
      {
        name: "product-dns01",
        root: dnsRoot,
        start: (port) =>
          startProduct(
            product.path,
            {
              tls: { certsDir: newDir("certs-issue-dns"), directoryUrl: dnsCa.directoryUrl, caCertPath: dnsCa.caCertPath },
              env: { MCP_ACME_CHALLENGE: "dns-01", MCP_DNS_SERVER: bind.address, MCP_DNS_TSIG_KEY: bind.keys.sha256.setting, MCP_DNS_NAMESERVERS: bind.address },
            },
            port,
            unusedHttpPort,
          ).child,
      },
      {
        name: "acme-client",
        root,
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
        // The product to its first 2026-07-28 answer, as in items 1 and 2; the script answers any POST with a canned result.
        const probe = contender.name === "acme-client" ? "initialize" : "discover";
        const ready = await probeUntilReady(endpoint("https", port, contender.root), probe, started + 60_000, 10, () => child.proc.exitCode === null);
        return ready - started;
      } catch (error) {
        throw new Error(`${contender.name}: ${(error as Error).message}\n--- log ---\n${child.log().slice(-3000)}`);
      } finally {
        await child.kill();
      }
    };

    const count = reps(options, 7, 2);
    say(`item 3: ${count} issuances by each of product (HTTP-01), product (DNS-01), acme-client script`);
    for (const contender of contenders) await once(contender); // warm-up, not counted
    const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < contenders.length; j++) {
        const contender = contenders[(i + j) % contenders.length]!;
        times.get(contender.name)!.push(await once(contender));
      }
    }
    const issued = ca.certificatesIssued() + dnsCa.certificatesIssued();
    await Promise.all([ca.stop(), dnsCa.stop(), bind.stop()]);
    return {
      rows: [
        ratioRow(
          "issuance.acme-client",
          "3 issuance spawn → first https answer (Pebble, no sleep, no authz reuse), vs acme-client script",
          sample(times.get("product")!, "ms"),
          sample(times.get("acme-client")!, "ms"),
          { op: "<=", value: 1.2 },
        ),
        ratioRow(
          "issuance.dns01",
          "3 issuance with DNS-01 (RFC 2136 + TSIG to BIND, wait at the authoritative server), vs the product's HTTP-01",
          sample(times.get("product-dns01")!, "ms"),
          sample(times.get("product")!, "ms"),
          undefined,
          { note: "informational: the cost of a closed port 80" },
        ),
      ],
      details: { issuances: count, certificatesIssued: issued, times: Object.fromEntries(times) },
    };
  },
};
