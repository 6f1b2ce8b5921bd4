import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startAriShim, type AriShim } from "../support/ari-shim.ts";
import { freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { parsePrometheus } from "../support/prometheus.ts";
import { loggedPort, spawnServer } from "../support/process.ts";
import { tempDir } from "../support/server.ts";
import { loopbackFetch, peerCertificate } from "../support/tls-client.ts";
import { until } from "../support/wait.ts";

// ARI (RFC 9773) and profiles end to end: the real server as a process,
// Pebble's certificates, and the ARI shim (test/support/ari-shim.ts) in
// front of Pebble's directory serving the windows each test chooses.

const DOMAIN = "docs.example.test";
const dir = tempDir("ari-e2e-");
let pebble: Pebble;
let acmePort: number;

beforeAll(async () => {
  acmePort = await freePort();
  pebble = await startPebble({ httpPort: acmePort });
});
afterAll(async () => {
  await pebble?.stop();
  dir.remove();
});

let dirs = 0;
function serverEnv(directoryUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const n = ++dirs;
  return {
    MCP_DOMAINS: DOMAIN,
    MCP_ACME_DIRECTORY: directoryUrl,
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_CERTS_DIR: join(dir.path, `certs-${n}`),
    MCP_DATA_DIR: join(dir.path, `data-${n}`),
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500, drainMs: 200, ariRecheckMinMs: 200 }),
    ...extra,
  };
}

const DAY = 86_400_000;

describe("with renewalInfo in the directory", () => {
  let shim: AriShim;
  beforeAll(async () => {
    shim = await startAriShim(pebble);
  });
  afterAll(async () => {
    await shim?.stop();
  });

  test("the CA's window is used, shown in /healthz and /metrics with source ari; moved into the past, it renews at once with replaces", async () => {
    // Pebble's certificates last years: a window a month before expiry, re-checked every second.
    shim.setWindow((c) => ({ start: c.notAfter - 30 * DAY, end: c.notAfter - 29 * DAY, retryAfter: 1, explanationURL: "https://ca.example.test/window" }));
    const server = spawnServer(serverEnv(shim.directoryUrl));
    try {
      const port = loggedPort(await server.waitFor(/msg="serving https"/, 30_000));
      const first = shim.issued[0]!;
      const get = loopbackFetch(DOMAIN, await pebble.root());
      // The window is asked for once the certificate is served.
      let health: any;
      await until("the renewal window in /healthz", async () => (health = await (await get(`https://${DOMAIN}:${port}/healthz`)).json()).certificate.renewalWindow !== undefined);
      expect(health.certificate.renewalWindow).toEqual({
        start: new Date(first.notAfter - 30 * DAY).toISOString(),
        end: new Date(first.notAfter - 29 * DAY).toISOString(),
        source: "ari",
        explanationUrl: "https://ca.example.test/window",
      });
      const next = Date.parse(health.certificate.nextRenewalAt);
      expect(next).toBeGreaterThanOrEqual(first.notAfter - 30 * DAY);
      expect(next).toBeLessThanOrEqual(first.notAfter - 29 * DAY);
      const metrics = parsePrometheus(await (await get(`https://${DOMAIN}:${port}/metrics`)).text());
      expect(metrics.find((s) => s.name === "mcp_certificate_renewal_window_start_seconds")).toMatchObject({ labels: { source: "ari" }, value: (first.notAfter - 30 * DAY) / 1000 });
      expect(metrics.find((s) => s.name === "mcp_certificate_renewal_window_end_seconds")).toMatchObject({ labels: { source: "ari" }, value: (first.notAfter - 29 * DAY) / 1000 });
      // The first order renewed nothing.
      expect(shim.orders()[0]?.replaces).toBeUndefined();

      // A revocation event: the CA moves the window of the certificate in service into the past.
      shim.setWindow((c) => (c.certId === first.certId ? { start: Date.now() - 2 * DAY, end: Date.now() - DAY, retryAfter: 1 } : { start: c.notAfter - 30 * DAY, end: c.notAfter - 29 * DAY, retryAfter: 3600 }));
      await server.waitFor(/msg="certificate swapped in" from=order/, 30_000);
      expect(server.count(/msg="the CA moved the renewal window into the past; renewing now"/)).toBe(1);
      expect(shim.orders()).toHaveLength(2);
      expect(shim.orders()[1]!.replaces).toBe(first.certId);
      expect((await peerCertificate(DOMAIN, port)).serialNumber).not.toBe(undefined);
      // The new certificate is asked for by its own CertID, and its window is ahead again: no second renewal.
      const second = shim.issued[1]!;
      await until("the new certificate's window is asked for", () => shim.asked.includes(second.certId));
      expect(server.count(/msg="certificate swapped in"/)).toBe(1);
    } finally {
      await server.stop();
    }
  });
});

describe("without renewalInfo", () => {
  test("the lifetime ratio decides, and says so", async () => {
    const server = spawnServer(serverEnv(pebble.directoryUrl));
    try {
      const port = loggedPort(await server.waitFor(/msg="serving https"/, 30_000));
      const get = loopbackFetch(DOMAIN, await pebble.root());
      let health: any;
      await until("the renewal window in /healthz", async () => (health = await (await get(`https://${DOMAIN}:${port}/healthz`)).json()).certificate.renewalWindow !== undefined);
      expect(health.certificate.renewalWindow.source).toBe("lifetime");
      expect(server.count(/could not get the CA's renewal window/)).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe("profiles", () => {
  let shim: AriShim;
  beforeAll(async () => {
    shim = await startAriShim(pebble, { profiles: { classic: "90 days", shortlived: "6 days" } });
  });
  afterAll(async () => {
    await shim?.stop();
  });

  test("the profile the CA lists is asked for in the order", async () => {
    const server = spawnServer(serverEnv(shim.directoryUrl, { MCP_ACME_PROFILE: "shortlived" }));
    try {
      await server.waitFor(/msg="serving https"/, 30_000);
      expect(shim.orders().at(-1)!.profile).toBe("shortlived");
    } finally {
      await server.stop();
    }
  });

  test("a profile the CA does not list fails in one line naming the ones it does", async () => {
    const orders = shim.orders().length;
    const server = spawnServer(serverEnv(shim.directoryUrl, { MCP_ACME_PROFILE: "tlsserver" }));
    try {
      const line = await server.waitFor(/could not get a certificate; will retry/, 30_000);
      expect(line).toContain('the CA offers no certificate profile \\"tlsserver\\" (it offers classic, shortlived): check MCP_ACME_PROFILE');
      expect(shim.orders()).toHaveLength(orders);
    } finally {
      await server.stop();
    }
  });
});
