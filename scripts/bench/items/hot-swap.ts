/**
 * Item 7: certificate hot swap under load. A wrk run like item 4's
 * (`tools/call fetch`, 64 keep-alive connections) while the certificate is
 * swapped 10 times; wrk never retries, so every connection dropped, reset or
 * refused in a swap is counted (connect/read/write errors, timeouts,
 * non-2xx). A run of the same length without swaps, on the same server, is
 * the throughput reference.
 *
 * Swaps are triggered the way an operator or another replica does: a new
 * bundle is written to the certificate store (with the product's own
 * FileStorage, so the layout is exactly the product's) and the process gets
 * SIGHUP, which re-reads storage and swaps in a certificate with a new serial.
 * This is deterministic: exactly 10 swaps at chosen moments. Renewal against
 * a short-lived Pebble certificate also swaps, but its timing depends on the
 * CA round trips under load, the renewal jitter, and Pebble's whole-second
 * validity periods; it is what test/tls/https.test.ts covers.
 * The certificates are self-signed (made with openssl); wrk does not verify,
 * and the swap does not depend on who signed them.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { peerCertificate } from "../../../test/support/tls-client.ts";
import { productBinary } from "../lib/compile.ts";
import { seededStore, startProduct, storeSelfSigned, SEEDED_DIRECTORY, waitReady } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, openSession, sessionHeaders, toolCallBody } from "../lib/mcp.ts";
import { naRow, ratioRow, type Row } from "../lib/report.ts";
import { DOMAIN, ensureBinary, freePorts, say, sleep } from "../lib/runtime.ts";
import { sample } from "../lib/stats.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";
import { PRODUCT_LOAD_ENV, honoPages, smallPage } from "./throughput.ts";

const SWAPS = 10;

/** Linux's net.ipv4.tcp_migrate_req (5.14+): whether a closing listener's queued connections move to another in its SO_REUSEPORT group. */
function tcpMigrateReq(): string | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
  } catch {
    return undefined;
  }
}
const CONNECTIONS = 64;

export const hotSwap: Item = {
  name: "hotswap",
  number: 7,
  title: "certificate hot swap under load",
  async run(options: Options) {
    await ensureBinary("wrk");
    const product = await productBinary(options.binary);
    const store = await seededStore();
    const [port, acmePort] = (await freePorts(2)) as [number, number];
    const server = startProduct(product.path, { tls: { certsDir: store.certsDir, directoryUrl: SEEDED_DIRECTORY }, docs: "hono", env: { ...PRODUCT_LOAD_ENV, MCP_LOG_LEVEL: "info" }, guard: true }, port, acmePort);
    const swapLines = () => server.child.log().split("\n").filter((line) => line.includes('msg="certificate swapped in"')).length;
    try {
      const at = endpoint("https", port);
      await waitReady(server, at);
      const sessionId = await openSession(at);
      const target = {
        url: `https://127.0.0.1:${port}/mcp`,
        method: "POST" as const,
        headers: { ...sessionHeaders(sessionId), Host: `${DOMAIN}:${port}` },
        bodies: [toolCallBody("fetch", { id: smallPage(honoPages()).id })],
      };
      const seconds = reps(options, 12, 6);
      await wrk(target, 16, 1); // warm-up

      say(`item 7: wrk -c${CONNECTIONS} ${seconds} s without swaps, then ${seconds} s with ${SWAPS} swaps (new bundle in storage + SIGHUP)`);
      const quiet = await wrk(target, CONNECTIONS, seconds);
      const before = swapLines();
      const serials: string[] = [];
      const loaded = wrk(target, CONNECTIONS, seconds);
      // Swaps spread over the middle of the run: from 10 % to 85 % of it.
      const start = performance.now();
      for (let i = 0; i < SWAPS; i++) {
        const at = start + seconds * 1000 * (0.1 + (0.75 * i) / (SWAPS - 1));
        await sleep(Math.max(0, at - performance.now()));
        serials.push((await storeSelfSigned(store.certsDir)).serial);
        server.child.signal("SIGHUP");
      }
      const swapping: WrkResult = await loaded;
      await sleep(300);
      const swapped = swapLines() - before;
      const served = (await peerCertificate(DOMAIN, port)).serialNumber;
      const stored = new X509Certificate(readFileSync(store.certPath, "utf8")).serialNumber;
      const servesLast = served.toUpperCase() === serials.at(-1)!.toUpperCase() && stored.toUpperCase() === served.toUpperCase();

      const migrate = tcpMigrateReq();
      const failuresText = (r: WrkResult) =>
        `${r.failures} failed of ${r.requests} (connect ${r.errors.connect}, read ${r.errors.read}, write ${r.errors.write}, timeout ${r.errors.timeout}, non-2xx ${r.errors.status})`;
      const rows: Row[] = [
        ratioRow("hotswap.rps", `7 hot swap: req/s during ${SWAPS} swaps vs the same run without (c=${CONNECTIONS}, fetch)`, sample([swapping.rps], "req/s"), sample([quiet.rps], "req/s"), undefined, {
          measuredText: `${Math.round(swapping.rps)} req/s, p99 ${swapping.p99.toFixed(1)} ms`,
          baselineText: `${Math.round(quiet.rps)} req/s, p99 ${quiet.p99.toFixed(1)} ms`,
        }),
        {
          key: "hotswap.failures",
          item: `7 hot swap: failed requests across ${SWAPS} swaps (wrk, no retries)`,
          measured: failuresText(swapping),
          baseline: failuresText(quiet),
          target: { op: "<=", value: 0 },
          targetText: "0 failed",
          pass: swapping.failures === 0 && swapped === SWAPS && servesLast,
          note: [
            swapped === SWAPS && servesLast
              ? `${swapped} swaps logged; new connections get the last certificate stored`
              : `swaps logged: ${swapped} of ${SWAPS}; serving the last stored certificate: ${servesLast}`,
            `net.ipv4.tcp_migrate_req=${migrate ?? "unknown"} (with 0, connections still queued on a retired SO_REUSEPORT listener are reset when it closes)`,
          ].join("; "),
          data: { swapping: { ...swapping, text: undefined }, quiet: { ...quiet, text: undefined }, swapped },
        },
      ];
      return { rows, details: { seconds, connections: CONNECTIONS, tcpMigrateReq: migrate, swaps: swapped, wrkWithSwaps: swapping.text, wrkWithout: quiet.text } };
    } catch (error) {
      return { rows: [naRow("hotswap.error", "7 hot swap", (error as Error).message.split("\n")[0]!, { op: "<=", value: 0 }, "0 failed")], details: { error: String(error), log: server.child.log().slice(-3000) } };
    } finally {
      await server.child.kill();
    }
  },
};
