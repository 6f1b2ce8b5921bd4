import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, statSync, writeFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { ensureCommands } from "../support/debian.ts";
import { ensurePebbleInstalled, freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { connectHttps, loopbackFetch, peerCertificate } from "../support/tls-client.ts";
import { tempDir, toolJson } from "../support/server.ts";
import { selfSigned } from "../support/self-signed.ts";
import { parsePrometheus } from "../support/prometheus.ts";
import { startAriShim } from "../support/ari-shim.ts";

// Automatic HTTPS end to end: the real server as a process, Pebble (Let's
// Encrypt's test CA) as the CA, the MCP SDK client and raw TLS handshakes as
// the clients.

const DOMAIN = "docs.example.test";
const dirs: { remove: () => void }[] = [];
const newDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};

let pebble: Pebble;
let acmePort: number;

beforeAll(async () => {
  await ensurePebbleInstalled();
  acmePort = await freePort();
  pebble = await startPebble({ httpPort: acmePort });
});
afterAll(async () => {
  await pebble?.stop();
  dirs.forEach((dir) => dir.remove());
});

function serverEnv(certsDir: string, ca: Pebble = pebble, port = acmePort, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MCP_DOMAINS: DOMAIN,
    MCP_ACME_DIRECTORY: ca.directoryUrl,
    MCP_ACME_PORT: String(port),
    MCP_PORT: "0",
    MCP_CERTS_DIR: certsDir,
    MCP_DATA_DIR: newDir(),
    NODE_EXTRA_CA_CERTS: ca.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500, drainMs: 300 }),
    ...extra,
  };
}

async function startHttps(env: Record<string, string>): Promise<{ server: ServerProcess; port: number }> {
  const server = spawnServer(env);
  const line = await server.waitFor(/msg="serving https"/, 30_000);
  return { server, port: loggedPort(line) };
}

const serial = (pem: string) => new X509Certificate(pem).serialNumber;

describe("first issuance", () => {
  const certsDir = newDir();
  let first: { server: ServerProcess; port: number };
  let ordersBefore: number;

  beforeAll(async () => {
    ordersBefore = pebble.ordersPlaced();
    first = await startHttps(serverEnv(certsDir));
  });
  afterAll(async () => {
    await first?.server.stop();
  });

  test("serves MCP over https with a chain Pebble issued, and logs each step", async () => {
    const root = await pebble.root();
    const client = await connectHttps(DOMAIN, first.port, root);
    const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "connect ChatGPT" } }));
    expect(results[0].url).toStartWith(`https://${DOMAIN}:`);
    await client.close();
    // The same over the legacy SSE transport.
    const sse = await connectHttps(DOMAIN, first.port, root, "sse");
    expect((await sse.listTools()).tools).toHaveLength(2);
    await sse.close();
    expect(pebble.ordersPlaced()).toBe(ordersBefore + 1);
    for (const step of ["certificate ordered", "certificate issued", "certificate stored", "serving certificate"]) {
      expect(first.server.count(new RegExp(`msg="${step}`))).toBe(1);
    }
  });

  test("/healthz reports the certificate: names, issuer, expiry, next renewal", async () => {
    const response = await loopbackFetch(DOMAIN, await pebble.root())(`https://${DOMAIN}:${first.port}/healthz`);
    const health = await response.json();
    expect(response.status).toBe(200);
    expect(health.certificate).toMatchObject({ ready: true, names: [DOMAIN] });
    expect(health.certificate.issuer).toContain("Pebble");
    expect(Date.parse(health.certificate.nextRenewalAt)).toBeLessThan(Date.parse(health.certificate.notAfter));
    const metrics = parsePrometheus(await (await loopbackFetch(DOMAIN, await pebble.root())(`https://${DOMAIN}:${first.port}/metrics`)).text());
    const notAfter = metrics.find((s) => s.name === "mcp_certificate_not_after_seconds" && s.labels.domain === DOMAIN);
    expect(notAfter?.value).toBe(Date.parse(health.certificate.notAfter) / 1000);
  });

  test("files keep the original layout; keys are 0600, the directory 0700", () => {
    const certPem = readFileSync(join(certsDir, `${DOMAIN}.cert.pem`), "utf8");
    const keyPath = realpathSync(join(certsDir, `${DOMAIN}.key.pem`));
    expect(new X509Certificate(certPem).subjectAltName).toContain(`DNS:${DOMAIN}`);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(certsDir).mode & 0o777).toBe(0o700);
    const accountKeys = new Bun.Glob("acme/*/account.key.pem").scanSync(certsDir);
    for (const path of accountKeys) expect(statSync(join(certsDir, path)).mode & 0o777).toBe(0o600);
    // No private key in the log.
    expect(first.server.lines.join("\n")).not.toContain("PRIVATE KEY");
  });

  test("port 80 answers /healthz and redirects everything else to https", async () => {
    const health = await fetch(`http://127.0.0.1:${acmePort}/healthz`);
    expect(health.status).toBe(200);
    const redirect = await fetch(`http://127.0.0.1:${acmePort}/mcp`, { redirect: "manual", headers: { Host: DOMAIN } });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe(`https://${DOMAIN}:${first.port}/mcp`);
  });

  test("a restart reuses the certificate and the account: no new order", async () => {
    const servedBefore = (await peerCertificate(DOMAIN, first.port)).serialNumber;
    await first.server.stop();
    const orders = pebble.ordersPlaced();
    const accounts = pebble.accountsCreated();
    first = await startHttps(serverEnv(certsDir));
    expect(first.server.count(/msg="serving certificate" from=storage/)).toBe(1);
    expect((await peerCertificate(DOMAIN, first.port)).serialNumber).toBe(servedBefore);
    expect(pebble.ordersPlaced()).toBe(orders);
    expect(pebble.accountsCreated()).toBe(accounts);
  });
});

describe("stored files that must not be served are replaced", () => {
  test.each([
    ["corrupted", (dir: string) => writeFileSync(join(dir, `${DOMAIN}.d`, readlinkSync(join(dir, `${DOMAIN}.d`, "current")), "cert.pem"), "-----BEGIN CERTIFICATE-----\ngarbage\n")],
    ["for other names", async (dir: string) => {
      const other = selfSigned(["other.example.test"]);
      await new FileStorage(dir).storeBundle(DOMAIN, {
        "cert.pem": { data: other.certPem },
        "key.pem": { data: other.keyPem, secret: true },
        "meta.json": { data: JSON.stringify({ directoryUrl: pebble.directoryUrl, names: ["other.example.test"] }) },
      });
    }],
    ["with a key that is not the certificate's", async (dir: string) => {
      const storage = new FileStorage(dir);
      const files = (await storage.loadBundle(DOMAIN))!;
      await storage.storeBundle(DOMAIN, {
        "cert.pem": { data: files["cert.pem"]! },
        "key.pem": { data: selfSigned([DOMAIN]).keyPem, secret: true },
        "meta.json": { data: files["meta.json"]! },
      });
    }],
  ])("%s: a new certificate is ordered and served, without a crash", async (_, damage) => {
    const certsDir = newDir();
    const { server } = await startHttps(serverEnv(certsDir));
    await server.stop();
    await damage(certsDir);
    const orders = pebble.ordersPlaced();
    const again = await startHttps(serverEnv(certsDir));
    expect(again.server.count(/level=warn .*stored certificate is not usable/)).toBe(1);
    expect(pebble.ordersPlaced()).toBe(orders + 1);
    const root = await pebble.root();
    const client = await connectHttps(DOMAIN, again.port, root);
    await client.listTools();
    await client.close();
    await again.server.stop();
  });

  test("expired: replaced on the next start", async () => {
    const shortPort = await freePort();
    await using short = await startPebble({ httpPort: shortPort, certificateValidityPeriod: 2 });
    const certsDir = newDir();
    const { server } = await startHttps(serverEnv(certsDir, short, shortPort));
    await server.stop();
    await Bun.sleep(2_500);
    const again = await startHttps(serverEnv(certsDir, short, shortPort));
    expect(again.server.lines.some((line) => /stored certificate is not usable.*expired/.test(line))).toBe(true);
    await again.server.stop();
  });

  test("switching CA (staging to production) replaces the certificate", async () => {
    const certsDir = newDir();
    const { server } = await startHttps(serverEnv(certsDir));
    const before = readFileSync(join(certsDir, `${DOMAIN}.cert.pem`), "utf8");
    await server.stop();
    // The same Pebble under another directory URL is, to the server, another CA.
    const otherDirectory = pebble.directoryUrl.replace("127.0.0.1", "localhost");
    const again = await startHttps({ ...serverEnv(certsDir), MCP_ACME_DIRECTORY: otherDirectory });
    expect(again.server.lines.some((line) => /not usable.*another CA/.test(line))).toBe(true);
    const after = readFileSync(join(certsDir, `${DOMAIN}.cert.pem`), "utf8");
    expect(serial(after)).not.toBe(serial(before));
    // A second account, for the other CA, kept beside the first.
    expect([...new Bun.Glob("acme/*/account.json").scanSync(certsDir)]).toHaveLength(2);
    await again.server.stop();
  });
});

describe("two processes sharing a certificate directory", () => {
  test("make one order between them and serve the same certificate", async () => {
    const certsDir = newDir();
    const orders = pebble.ordersPlaced();
    const a = spawnServer(serverEnv(certsDir));
    const b = spawnServer(serverEnv(certsDir));
    try {
      const [lineA, lineB] = await Promise.all([a.waitFor(/msg="serving https"/, 30_000), b.waitFor(/msg="serving https"/, 30_000)]);
      expect(pebble.ordersPlaced()).toBe(orders + 1);
      const [certA, certB] = await Promise.all([peerCertificate(DOMAIN, loggedPort(lineA)), peerCertificate(DOMAIN, loggedPort(lineB))]);
      expect(certA.serialNumber).toBe(certB.serialNumber);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe("when the CA is down", () => {
  test("a valid cached certificate is still served", async () => {
    const certsDir = newDir();
    const port = await freePort();
    const ca = await startPebble({ httpPort: port });
    try {
      const { server } = await startHttps(serverEnv(certsDir, ca, port));
      await server.stop();
      ca.kill();
      const again = await startHttps(serverEnv(certsDir, ca, port));
      expect(again.server.count(/from=storage/)).toBe(1);
      await again.server.stop();
    } finally {
      await ca.stop();
    }
  });

  test("without a certificate: not ready on port 80, retries, then serves when the CA is back; a forgotten account is registered again", async () => {
    const certsDir = newDir();
    const port = await freePort();
    const ca = await startPebble({ httpPort: port });
    try {
      // An account first, then a CA restart that forgets it.
      const first = await startHttps(serverEnv(certsDir, ca, port));
      await first.server.stop();
      ca.kill();
      const server = spawnServer({ ...serverEnv(certsDir, ca, port), MCP_DOMAINS: `${DOMAIN},api.example.test` });
      try {
        await server.waitFor(/could not get a certificate; will retry.*hint=/);
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(health.status).toBe(503);
        expect((await health.json()).certificate.ready).toBe(false);
        await ca.restart();
        const line = await server.waitFor(/msg="serving https"/, 30_000);
        expect(server.count(/no longer knows the ACME account/)).toBe(1);
        const certificate = await peerCertificate(DOMAIN, loggedPort(line));
        expect(certificate.subjectaltname).toContain("DNS:api.example.test");
      } finally {
        await server.stop();
      }
    } finally {
      await ca.stop();
    }
  });
});

describe("a short certificate's last day", () => {
  test("a CA outage while a short certificate runs out is logged as urgent, with the time left", async () => {
    const port = await freePort();
    // 30-second certificates stand in for 6-day ones: their last sixth is their "last day".
    await using ca = await startPebble({ httpPort: port, certificateValidityPeriod: 30 });
    const { server } = await startHttps(serverEnv(newDir(), ca, port, { MCP_RENEW_RATIO: "0.5" }));
    try {
      ca.kill();
      const line = await server.waitFor(/urgent=true/, 60_000);
      expect(line).toContain('level=error component=tls msg="URGENT: certificate renewal failed and the certificate expires soon; still serving it"');
      expect(Number(/expiresInSeconds=(\d+)/.exec(line)![1])).toBeLessThanOrEqual(5);
      // Before the last sixth, the same failure was an ordinary one.
      expect(server.count(/msg="certificate renewal failed; still serving the current certificate"/)).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});

describe("renewal", () => {
  // 60-second certificates, renewed about every 6 to 9 seconds: either by
  // the lifetime ratio (90% of the lifetime left, a window of 5%), or by the
  // CA's own window from the ARI shim (5 to 7 seconds after issuance), so a
  // 20-second load run spans at least two swaps either way.
  test.each([
    ["the lifetime ratio (no ARI)", false],
    ["ARI windows from the shim", true],
  ] as const)("with %s: happens by itself; new connections get the new certificate; a keep-alive client that never retries sees no failure", async (_, ari) => {
    await ensureCommands([["wrk", "wrk"]], "The hot-swap test");
    const port = await freePort();
    await using ca = await startPebble({ httpPort: port, certificateValidityPeriod: 60 });
    await using shim = ari ? await startAriShim(ca, { window: (c) => ({ start: c.notBefore + 5_000, end: c.notBefore + 7_000, retryAfter: 1 }) }) : undefined;
    const { server, port: httpsPort } = await startHttps({
      ...serverEnv(newDir(), ca, port, { MCP_RENEW_RATIO: "0.9" }),
      ...(shim ? { MCP_ACME_DIRECTORY: shim.directoryUrl } : {}),
    });
    try {
      const firstSerial = (await peerCertificate(DOMAIN, httpsPort)).serialNumber;
      // wrk keeps its connections alive and, unlike fetch, never retries a
      // request that failed on a closed connection: any drop is counted.
      const wrk = Bun.spawn(["wrk", "-t1", "-c8", "-d20s", "--timeout", "5s", "-H", `Host: ${DOMAIN}`, `https://127.0.0.1:${httpsPort}/healthz`], { stdout: "pipe", stderr: "pipe" });
      const output = await new Response(wrk.stdout).text();
      await wrk.exited;
      const lastSerial = (await peerCertificate(DOMAIN, httpsPort)).serialNumber;
      const health = await (await loopbackFetch(DOMAIN, await ca.root())(`https://${DOMAIN}:${httpsPort}/healthz`)).json();
      await server.stop();
      const swaps = server.count(/msg="certificate swapped in"/);
      expect(swaps).toBeGreaterThanOrEqual(2);
      const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
      expect(requests).toBeGreaterThan(100);
      expect(output).not.toContain("Socket errors");
      expect(output).not.toContain("Non-2xx");
      expect(lastSerial).not.toBe(firstSerial);
      // Every order was a renewal swapped in, but for the first and one that may have been under way at the stop.
      expect(ca.ordersPlaced() - swaps).toBeGreaterThanOrEqual(1);
      expect(ca.ordersPlaced() - swaps).toBeLessThanOrEqual(2);
      expect(health.certificate.renewalWindow?.source ?? "lifetime").toBe(ari ? "ari" : "lifetime");
      if (shim) {
        // Each renewal named the certificate it replaced: the last one issued before it.
        const orders = shim.orders();
        expect(orders[0]!.replaces).toBeUndefined();
        for (const order of orders.slice(1)) expect(order.replaces).toBe(shim.issued.filter((c) => c.at < order.at).at(-1)!.certId);
      }
    } finally {
      await server.stop();
    }
  });
});

describe("IP address certificates", () => {
  test("an IP literal in MCP_DOMAINS is ordered as an ip identifier and served", async () => {
    const certsDir = newDir();
    const orders = pebble.ordersPlaced();
    const { server, port } = await startHttps({ ...serverEnv(certsDir), MCP_DOMAINS: "127.0.0.1" });
    try {
      expect(pebble.ordersPlaced()).toBe(orders + 1);
      // No SNI: TLS carries no IP address as a server name.
      const certificate = await new Promise<PeerCertificate>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate());
          socket.end();
        });
        socket.once("error", reject);
      });
      expect(certificate.subjectaltname).toBe("IP Address:127.0.0.1");
      // A client that verifies checks the address against the certificate.
      const response = await fetch(`https://127.0.0.1:${port}/healthz`, { tls: { ca: [await pebble.root()] } } as RequestInit);
      expect(response.status).toBe(200);
      expect((await response.json()).certificate.names).toEqual(["127.0.0.1"]);
    } finally {
      await server.stop();
    }
  });
});
