import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisStorage } from "../../src/storage/redis-storage.ts";
import { certificateKeys } from "../../src/tls/bundle.ts";
import { startBalancer, type Balancer } from "../support/balancer.ts";
import { ensurePebbleInstalled, freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { tempDir, toolJson } from "../support/server.ts";
import { connectHttps, peerCertificate } from "../support/tls-client.ts";

// Several replicas behind a load balancer, sharing certificates through a
// real Redis and a real Pebble: one orders, all serve, any answers the CA.

const DOMAIN = "docs.example.test";
let redis: TestRedis;
let pebble: Pebble;
let balancer: Balancer;
const backends: number[] = [];
const dirs: { remove: () => void }[] = [];

beforeAll(async () => {
  await ensurePebbleInstalled();
  redis = await startRedis();
  const balancerPort = await freePort();
  balancer = startBalancer(backends, balancerPort);
  // Pebble validates HTTP-01 through the balancer, as Let's Encrypt would reach port 80 of a load balancer.
  pebble = await startPebble({ httpPort: balancerPort, authzReuse: 0 });
});
afterAll(async () => {
  balancer?.stop();
  await pebble?.stop();
  await redis?.stop();
  dirs.forEach((dir) => dir.remove());
});

/** `faults`: crash points, which only the test entry point installs (test/support/server-entry.ts). */
async function replica(namespace: string, extra: Record<string, string> = {}, faults: { pauseAt?: string } = {}) {
  const acmePort = await freePort();
  const data = tempDir();
  dirs.push(data);
  const server = spawnServer({
    MCP_DOMAINS: DOMAIN,
    MCP_STORAGE: redis.url,
    MCP_STORAGE_NAMESPACE: namespace,
    MCP_STATELESS: "true",
    MCP_ACME_DIRECTORY: pebble.directoryUrl,
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_DATA_DIR: data.path,
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500, drainMs: 200, lockTtlMs: 3_000, storagePollMs: 1_000 }),
    ...(faults.pauseAt ? { MCP_TEST_FAULTS: JSON.stringify(faults) } : {}),
    ...extra,
  });
  return { server, acmePort };
}

const httpsPort = async (server: ServerProcess) => loggedPort(await server.waitFor(/msg="serving https"/, 30_000));

describe("three replicas sharing Redis", () => {
  test("one order between them; all serve the same certificate; another replica answers the CA's challenge", async () => {
    const orders = pebble.ordersPlaced();
    // A takes the lock and stops right after placing its order...
    const a = await replica("three", {}, { pauseAt: "order" });
    await a.server.waitFor(/test pause point reached/);
    // ...while B and C come up behind the balancer and wait for the lock.
    const b = await replica("three");
    const c = await replica("three");
    backends.splice(0, backends.length, b.acmePort, c.acmePort);
    await Promise.all([b.server.waitFor(/waiting for the issuance lock/), c.server.waitFor(/waiting for the issuance lock/)]);
    a.server.proc.kill("SIGCONT");
    try {
      const ports = await Promise.all([a, b, c].map(({ server }) => httpsPort(server)));
      expect(pebble.ordersPlaced()).toBe(orders + 1);
      // The CA's validation request reached B or C, never A: they answered A's challenge from Redis.
      expect(balancer.served.length).toBeGreaterThan(0);
      for (const port of balancer.served) expect([b.acmePort, c.acmePort]).toContain(port);
      const serials = await Promise.all(ports.map(async (port) => (await peerCertificate(DOMAIN, port)).serialNumber));
      expect(new Set(serials).size).toBe(1);
      // And each replica serves MCP with it.
      const client = await connectHttps(DOMAIN, ports[2]!, await pebble.root());
      expect(toolJson(await client.callTool({ name: "search", arguments: { query: "replicas" } })).results).toBeArray();
      await client.close();
    } finally {
      await Promise.all([a, b, c].map(({ server }) => server.stop()));
    }
  });

  test("each replica's port 80 answers a challenge any replica placed", async () => {
    const storage = new RedisStorage({ url: redis.url, namespace: "tokens" });
    const a = await replica("tokens");
    const b = await replica("tokens");
    backends.splice(0, backends.length, a.acmePort, b.acmePort);
    try {
      await Promise.all([httpsPort(a.server), httpsPort(b.server)]);
      const token = "T".repeat(20) + crypto.randomUUID().replaceAll("-", "");
      await storage.store(certificateKeys.challenge(token), `${token}.thumbprint`);
      for (const { acmePort } of [a, b]) {
        const response = await fetch(`http://127.0.0.1:${acmePort}/.well-known/acme-challenge/${token}`);
        expect(await response.text()).toBe(`${token}.thumbprint`);
      }
    } finally {
      await Promise.all([a.server.stop(), b.server.stop()]);
      storage.close?.();
    }
  });

  test("killing the lock holder mid-issuance lets another finish", async () => {
    const orders = pebble.ordersPlaced();
    const a = await replica("killed", {}, { pauseAt: "order" });
    await a.server.waitFor(/test pause point reached/);
    const b = await replica("killed");
    backends.splice(0, backends.length, b.acmePort);
    await b.server.waitFor(/waiting for the issuance lock/);
    a.server.proc.kill("SIGKILL");
    try {
      // B takes over once the dead holder's lease runs out.
      const port = await httpsPort(b.server);
      expect(pebble.ordersPlaced()).toBe(orders + 2);
      expect((await peerCertificate(DOMAIN, port)).subject.CN).toBe(DOMAIN);
    } finally {
      await b.server.stop();
    }
  });

  test("a renewal done by one reaches the others without a restart; a Redis outage loses nothing", async () => {
    await using shortLived = await startPebble({ httpPort: await freePort(), certificateValidityPeriod: 20, authzReuse: 0 });
    // This Pebble validates on its own port: put the replicas' responders behind a second balancer there.
    const replicas = await Promise.all(
      ["x", "y", "z"].map(() =>
        replica("renewal", { MCP_ACME_DIRECTORY: shortLived.directoryUrl, NODE_EXTRA_CA_CERTS: shortLived.caCertPath, MCP_RENEW_RATIO: "0.75" }),
      ),
    );
    const second = startBalancer(replicas.map((r) => r.acmePort), shortLived.httpPort);
    try {
      const ports = await Promise.all(replicas.map(({ server }) => httpsPort(server)));
      const first = (await peerCertificate(DOMAIN, ports[0]!)).serialNumber;
      // About 5 s later one replica renews; the others adopt it from Redis.
      await Promise.all(replicas.map(({ server }) => server.waitFor(/msg="certificate swapped in"/, 30_000)));
      // The replaced listener keeps accepting (and answering with Connection: close) for its drain period.
      await Bun.sleep(500);
      const serials = await Promise.all(ports.map(async (p) => (await peerCertificate(DOMAIN, p)).serialNumber));
      expect(new Set(serials).size).toBe(1);
      expect(serials[0]).not.toBe(first);
      // Every certificate the CA issued was ordered by exactly one replica: no duplicates.
      const issued = () => replicas.reduce((n, { server }) => n + server.count(/msg="certificate issued"/), 0);
      expect(shortLived.ordersPlaced()).toBe(issued());
      expect(issued()).toBeGreaterThanOrEqual(2);
      const swaps = () => replicas.map(({ server }) => server.count(/msg="certificate swapped in"/));
      const before = swaps();

      // Redis hangs for a while: every replica keeps serving its certificate.
      redis.pause();
      await Bun.sleep(2_000);
      for (const p of ports) expect((await peerCertificate(DOMAIN, p)).serialNumber).toBe(serials[0]!);
      redis.resume();
      // Back: renewals go on through Redis, and every replica takes the next one.
      const deadline = Date.now() + 30_000;
      while (!swaps().every((n, i) => n > before[i]!) && Date.now() < deadline) await Bun.sleep(200);
      expect(swaps().every((n, i) => n > before[i]!)).toBe(true);
      expect(shortLived.ordersPlaced()).toBe(issued());
    } finally {
      redis.resume();
      second.stop();
      await Promise.all(replicas.map(({ server }) => server.stop()));
    }
  });
});
