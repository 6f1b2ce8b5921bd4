import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import acme from "acme-client";
import { Agent } from "node:https";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { FaultyStorage } from "../support/faulty-storage.ts";
import type { BundleFile } from "../../src/storage/storage.ts";
import { createLogger } from "../../src/log/index.ts";
import { maintainCertificates } from "../../src/tls/https-server.ts";
import type { CertificateMaintainer } from "../../src/tls/maintain.ts";
import { challengeResponder } from "../../src/tls/challenge-responder.ts";
import { inspectCertificate, pemBlocks, type CertificateBundle, type CertificateInfo } from "../../src/tls/certificate.ts";
import type { OrderStep } from "../../src/tls/acme-order.ts";
import { ensurePebbleInstalled, startPebble } from "../support/pebble.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { loopbackFetch, peerCertificate } from "../support/tls-client.ts";
import { tempDir } from "../support/server.ts";
import { pebbleListenerTls, startAcmeProxy } from "../support/acme-proxy.ts";

// What the certificate machinery does when things break: the process killed
// at every step of an order, the disk full during a renewal, and a CA that
// rate-limits, fails or hangs. The real server runs as a process against
// Pebble (Let's Encrypt's test CA), directly or through a fault-injecting
// proxy (test/support/acme-proxy.ts); the disk-full case and the Retry-After
// minimum run the certificate machinery in-process, where storage fails on
// command and the jitter's randomness is fixed.

const DOMAIN = "docs.example.test";
const LOCK_FILE = join("locks", `certificate-${DOMAIN}.lock`);
const BOOT_ID = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
const dirs: { remove: () => void }[] = [];
const newDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};

beforeAll(async () => {
  await ensurePebbleInstalled();
});
afterAll(() => {
  dirs.forEach((dir) => dir.remove());
});

interface Ca {
  directoryUrl: string;
  caCertPath: string;
}

interface Tuning {
  retryMinMs?: number;
  retryMaxMs?: number;
  drainMs?: number;
  acmeTimeoutMs?: number;
  storagePollMs?: number;
  crashAt?: OrderStep;
}

function serverEnv(certsDir: string, ca: Ca, acmePort: number, tuning: Tuning = {}, extra: Record<string, string> = {}): Record<string, string> {
  // Crash points are not tuning: only the test entry point installs them (test/support/server-entry.ts).
  const { crashAt, ...timing } = tuning;
  return {
    MCP_HOST: "127.0.0.1",
    MCP_DOMAINS: DOMAIN,
    MCP_ACME_DIRECTORY: ca.directoryUrl,
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_CERTS_DIR: certsDir,
    MCP_DATA_DIR: newDir(),
    NODE_EXTRA_CA_CERTS: ca.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500, drainMs: 100, ...timing }),
    ...(crashAt ? { MCP_TEST_FAULTS: JSON.stringify({ crashAt }) } : {}),
    ...extra,
  };
}

/** Polls `predicate` until it holds; fails with `what` (and the log, if given) after `timeoutMs`. */
async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 20_000, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${log ? `; log:\n${log()}` : ""}`);
    await Bun.sleep(25);
  }
}

/** Waits until a TLS handshake at `port` presents `serial` (a swap retires the old listener after drainMs). */
async function expectServedSoon(port: number, serial: string): Promise<void> {
  let served = "";
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await Bun.sleep(50)) {
    served = await servedSerial(port).catch((error: Error) => `handshake failed: ${error.message}`);
    if (served === serial) return;
  }
  expect(served).toBe(serial);
}

/**
 * Everything the certificate directory holds after a crash, checked for
 * damage: the committed bundle (read the way the server reads it, and
 * through the stable `<domain>.cert.pem`/`.key.pem` links other programs
 * read), every version directory, the ACME account, and no half-written or
 * temporary file anywhere. Resolves the committed certificate, if any.
 */
async function checkCertsDir(dir: string): Promise<CertificateInfo | undefined> {
  // No temporary file, partial bundle version or `current.tmp` left behind.
  const leftovers: string[] = [];
  const walk = (path: string, rel: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(rel, entry.name);
      if (/\.tmp$|^\.partial-|^current\.tmp$|\.claim$/.test(entry.name)) leftovers.push(child);
      if (entry.isDirectory()) walk(join(path, entry.name), child);
    }
  };
  walk(dir, "");
  expect(leftovers).toEqual([]);

  // The account: key and record parse (a crash may come before either exists).
  for (const path of new Bun.Glob("acme/*/*").scanSync(dir)) {
    const text = readFileSync(join(dir, path), "utf8");
    if (path.endsWith("account.key.pem")) expect(() => createPrivateKey(text)).not.toThrow();
    else if (path.endsWith("account.json")) expect(typeof JSON.parse(text).url).toBe("string");
  }

  // Every version directory is complete: a certificate with its own key.
  const bundleDir = join(dir, `${DOMAIN}.d`);
  if (existsSync(bundleDir)) {
    for (const entry of readdirSync(bundleDir)) {
      if (!/^\d{15}-[0-9a-f]{8}$/.test(entry)) continue;
      const version = join(bundleDir, entry);
      expect(() => inspectCertificate(readFileSync(join(version, "cert.pem"), "utf8"), readFileSync(join(version, "key.pem"), "utf8"))).not.toThrow();
    }
  }

  const files = await new FileStorage(dir).loadBundle(DOMAIN);
  if (!files) {
    expect(existsSync(join(dir, `${DOMAIN}.cert.pem`))).toBe(false);
    return undefined;
  }
  const info = inspectCertificate(files["cert.pem"]!, files["key.pem"]!);
  expect(info.names).toEqual([DOMAIN]);
  expect(pemBlocks(files["cert.pem"]!)).toHaveLength(2); // leaf + intermediate
  expect(JSON.parse(files["meta.json"]!).names).toEqual([DOMAIN]);
  // The stable paths show the same set.
  expect(readFileSync(join(dir, `${DOMAIN}.cert.pem`), "utf8")).toBe(files["cert.pem"]!);
  expect(readFileSync(join(dir, `${DOMAIN}.key.pem`), "utf8")).toBe(files["key.pem"]!);
  expect(statSync(join(dir, `${DOMAIN}.key.pem`)).mode & 0o777).toBe(0o600);
  return info;
}

/** The issuance lock left by a process, if any. */
function lockRecord(dir: string): { pid: number; bootId: string | null } | undefined {
  const path = join(dir, LOCK_FILE);
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/** Runs the server until it SIGKILLs itself at `step`; checks that it did die there. */
async function crashAt(env: Record<string, string>, step: OrderStep): Promise<ServerProcess> {
  const server = spawnServer(env);
  const exited = await Promise.race([server.proc.exited, Bun.sleep(30_000).then(() => "timeout" as const)]);
  if (exited === "timeout") {
    // The listening sockets, to tell a port clash on the machine from a fault of the server.
    const sockets = Bun.which("ss") ? Bun.spawnSync(["ss", "-ltnp"]).stdout.toString() : "";
    await server.stop();
    throw new Error(`the server did not crash at ${step} within 30 s; log:\n${server.lines.join("\n")}\n${sockets}`);
  }
  expect(server.proc.signalCode, server.lines.join("\n")).toBe("SIGKILL");
  expect(server.count(new RegExp(`msg="test crash point reached; killing the process" step=${step}$`))).toBe(1);
  return server;
}

/** The server up and serving https, verified against Pebble's root; resolves the port. */
async function expectServing(server: ServerProcess, root: string): Promise<number> {
  const port = loggedPort(await server.waitFor(/msg="serving https"/, 20_000));
  const response = await loopbackFetch(DOMAIN, root)(`https://${DOMAIN}:${port}/healthz`).catch((error: Error) => {
    throw new Error(`GET https://${DOMAIN}:${port}/healthz failed: ${error.message}; log:\n${server.lines.join("\n")}`);
  });
  expect(response.status).toBe(200);
  expect((await response.json()).certificate.ready).toBe(true);
  return port;
}

async function servedSerial(port: number): Promise<string> {
  try {
    return (await peerCertificate(DOMAIN, port)).serialNumber;
  } catch (error) {
    throw new Error(`TLS handshake with 127.0.0.1:${port} failed: ${(error as Error).message}`);
  }
}

const STEPS: OrderStep[] = ["account", "order", "challenge-published", "challenge-validated", "finalized", "downloaded", "stored"];
const ROUNDS = 2;

/**
 * `count` different loopback ports, free a moment ago, from just below the
 * kernel's ephemeral range. A port from the ephemeral range is free again
 * once probed, and while the tests go on, Pebble harnesses picking their own
 * ports, servers on port 0 and outgoing connections can be handed it (seen:
 * the server's HTTP-01 responder failing with EADDRINUSE). Below that range
 * only a fixed bind can take it.
 */
async function quietPorts(count: number): Promise<number[]> {
  const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32_768;
  const top = low - 1;
  const bottom = Math.max(1_024, top - 10_000);
  const canBind = (port: number) =>
    new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
  const picked = new Set<number>();
  while (picked.size < count) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (!picked.has(port) && (await canBind(port))) picked.add(port);
  }
  return [...picked];
}
const quietPort = async () => (await quietPorts(1))[0]!;

describe("crash safety: SIGKILL at every step of an order", () => {
  // One lane per step, each with its own Pebble on its own HTTP-01 port (a
  // CA validates on one port, so servers with different storage cannot
  // share one), all lanes at once. 20-second certificates and
  // MCP_RENEW_RATIO=0.9: a renewal is due 2 to 3 s after issuance.
  let lanePorts: number[];
  beforeAll(async () => {
    lanePorts = await quietPorts(STEPS.length);
  });
  test.concurrent.each(STEPS)(
    "%s: the old or the new complete set survives, never a mix; the next start serves without help (first issuance and renewal, twice each)",
    async (step) => {
      const acmePort = lanePorts[STEPS.indexOf(step)]!;
      // No authorization reuse: every order, renewals included, goes through the challenge steps.
      await using ca = await startPebble({ httpPort: acmePort, certificateValidityPeriod: 20, authzReuse: 0 });
      const root = await ca.root();
      const stored = step === "stored";

      // First issuance: nothing old to keep.
      for (let round = 1; round <= ROUNDS; round++) {
        const dir = newDir();
        const crashed = await crashAt(serverEnv(dir, ca, acmePort, { crashAt: step }), step);
        const after = await checkCertsDir(dir);
        // Only once the set is stored may it exist; before, nothing may.
        if (stored) expect(after).toBeDefined();
        else expect(after).toBeUndefined();
        // The killed process still holds the issuance lock, with its pid and boot id.
        expect(lockRecord(dir)).toMatchObject({ pid: crashed.proc.pid, bootId: BOOT_ID });

        const orders = ca.ordersPlaced();
        const restarted = spawnServer(serverEnv(dir, ca, acmePort));
        try {
          // Within 20 s, though the lock's lease is 120 s: the dead holder's lock is broken at once.
          const port = await expectServing(restarted, root);
          const files = (await new FileStorage(dir).loadBundle(DOMAIN))!;
          expect(await servedSerial(port)).toBe(inspectCertificate(files["cert.pem"]!, files["key.pem"]!).serialNumber);
        } finally {
          await restarted.stop();
        }
        const served = (await checkCertsDir(dir))!;
        if (stored) {
          // Nothing to order: the stored set is served as it is (the dead process's lock is left for whoever orders next).
          expect(restarted.count(/msg="serving certificate" from=storage/)).toBe(1);
          expect(served.serialNumber).toBe(after!.serialNumber);
          expect(ca.ordersPlaced()).toBe(orders);
        } else {
          expect(restarted.count(/msg="certificate stored"/)).toBe(1);
          // Released by the process that broke it and ordered.
          expect(lockRecord(dir)).toBeUndefined();
        }
      }

      // Renewal: the old set must survive every crash before the new one is committed.
      const dir = newDir();
      {
        await using first = spawnServer(serverEnv(dir, ca, acmePort));
        await expectServing(first, root);
      }
      for (let round = 1; round <= ROUNDS; round++) {
        const before = (await checkCertsDir(dir))!;
        const crashed = await crashAt(serverEnv(dir, ca, acmePort, { crashAt: step }, { MCP_RENEW_RATIO: "0.9" }), step);
        // It died renewing, while serving the old certificate.
        expect(crashed.count(/msg="serving certificate" from=storage/)).toBe(1);
        expect(crashed.count(/msg="renewing certificate"/)).toBe(1);
        const after = (await checkCertsDir(dir))!;
        expect(after).toBeDefined();
        if (stored) expect(after.serialNumber).not.toBe(before.serialNumber);
        else expect(after.serialNumber).toBe(before.serialNumber);
        expect(lockRecord(dir)).toMatchObject({ pid: crashed.proc.pid, bootId: BOOT_ID });

        // The next start serves what is stored at once, then renews: it must take the dead process's lock.
        const restarted = spawnServer(serverEnv(dir, ca, acmePort, {}, { MCP_RENEW_RATIO: "0.9" }));
        try {
          const port = await expectServing(restarted, root);
          expect(restarted.count(/msg="serving certificate" from=storage/)).toBe(1);
          await restarted.waitFor(/msg="certificate swapped in" from=order/, 20_000);
          const files = (await new FileStorage(dir).loadBundle(DOMAIN))!;
          const renewed = inspectCertificate(files["cert.pem"]!, files["key.pem"]!);
          expect(renewed.serialNumber).not.toBe(after.serialNumber);
          await expectServedSoon(port, renewed.serialNumber);
        } finally {
          await restarted.stop();
        }
        expect(lockRecord(dir)?.pid).not.toBe(crashed.proc.pid);
      }
    },
    90_000,
  );
});

describe("storage fault during renewal (certificate machinery in-process)", () => {
  test("disk full: the current certificate keeps being served, retries back off, the certificate the CA issued is stored once the disk heals (no new order), and a failed swap leaves `current` alone until a retry serves it", async () => {
    const acmePort = await quietPort();
    // 90-second certificates, renewed when 90% of the lifetime is gone: ~9 s
    // after issuance. Authorizations are reused, as Let's Encrypt does for
    // 30 days, so a renewal writes nothing until the certificate is stored.
    await using ca = await startPebble({ httpPort: acmePort, certificateValidityPeriod: 90, authzReuse: 100 });
    // In-process acme-client must trust Pebble's listener itself (NODE_EXTRA_CA_CERTS is read at start-up only).
    const axiosDefaults = acme.axios.defaults as { httpsAgent?: unknown };
    const savedAgent = axiosDefaults.httpsAgent;
    axiosDefaults.httpsAgent = new Agent({ ca: ca.caCertPem });

    const dir = newDir();
    /** The disk, failing on command; every storeBundle attempt is timed. */
    const attempts: number[] = [];
    const storage = new (class extends FaultyStorage {
      override storeBundle(name: string, files: Record<string, BundleFile>) {
        attempts.push(performance.now());
        return super.storeBundle(name, files);
      }
    })(new FileStorage(dir));
    const responder = Bun.serve({
      hostname: "127.0.0.1",
      port: acmePort,
      fetch: challengeResponder({ storage, domains: [DOMAIN], httpsPort: () => 443, health: () => new Response("ok") }),
    });
    const lines: string[] = [];
    const log = () => lines.join("\n");
    /** What `onCertificate` was called with and served. */
    const served: CertificateBundle[] = [];
    const violations: string[] = [];
    let first: CertificateBundle | undefined;
    /** The first swap of the renewed certificate fails, as when the new listener cannot start. */
    let serveFailed = false;
    const manager: CertificateMaintainer = maintainCertificates({
      acme: { directoryUrl: ca.directoryUrl, keyType: "ecdsa", timeoutMs: 5_000 },
      domains: [DOMAIN],
      storage,
      acmePort,
      renewRatio: 0.9,
      logger: createLogger("debug", (line) => lines.push(line)),
      tuning: { retryMinMs: 200, retryMaxMs: 800 },
      // No jitter (the backoff factor is then exactly 0.9): the backoff below is deterministic.
      random: () => 0,
      onCertificate: async (bundle) => {
        // Only ever called with a complete, matching set that storage already holds…
        const files = await new FileStorage(dir).loadBundle(DOMAIN);
        if (files?.["cert.pem"] !== bundle.certPem || files?.["key.pem"] !== bundle.keyPem) violations.push("asked to serve a certificate storage does not hold");
        try {
          inspectCertificate(bundle.certPem, bundle.keyPem);
        } catch (error) {
          violations.push(`asked to serve a broken set: ${(error as Error).message}`);
        }
        // …and `current` is what is being served until the swap succeeds.
        if (served.length > 0 && manager.current !== served.at(-1)) violations.push("current is not the certificate being served");
        if (first && !serveFailed) {
          serveFailed = true;
          throw new Error("the new TLS listener could not start (test)");
        }
        served.push(bundle);
      },
    });
    const failures = () => lines.filter((line) => /level=error .*msg="certificate renewal failed; still serving the current certificate"/.test(line));
    try {
      await manager.start();
      first = await manager.ready();
      expect(served).toEqual([first]);
      expect(attempts).toHaveLength(1);

      storage.failWrites(); // ENOSPC from now on
      const issuedBefore = ca.certificatesIssued();
      await waitUntil(() => failures().length >= 3, "three failed renewal attempts", 30_000, log);

      // Each failure is one clear line: what failed, where, and why.
      for (const line of failures()) {
        expect(line).toContain(`reason="could not store the new certificate in ${dir} (fault injection): ENOSPC: no space left on device"`);
      }
      // The certificate in service did not change, nor did storage.
      expect(manager.current).toBe(first);
      expect(served).toEqual([first]);
      expect(manager.status()).toMatchObject({ ready: true, failures: 3, renewals: 0 });
      expect(manager.status().lastError).toContain("ENOSPC");
      const files = (await new FileStorage(dir).loadBundle(DOMAIN))!;
      expect(inspectCertificate(files["cert.pem"]!, files["key.pem"]!).serialNumber).toBe(first.info.serialNumber);
      // The CA was asked once: the certificate it issued is kept and offered to storage again on each retry.
      expect(ca.certificatesIssued()).toBe(issuedBefore + 1);
      expect(lines.filter((line) => /msg="storing the certificate issued earlier/.test(line))).toHaveLength(2);

      storage.heal();
      // Stored on the next retry; its first swap fails, and the retry after that serves it.
      await waitUntil(() => served.length === 2 && manager.status().lastError === undefined, "the renewed certificate to be swapped in", 30_000, log);
      const renewed = served[1]!;
      expect(serveFailed).toBe(true);
      expect(failures().at(-1)).toContain('reason="the new TLS listener could not start (test)"');
      expect(renewed.info.serialNumber).not.toBe(first.info.serialNumber);
      expect(manager.current).toBe(renewed);
      expect(ca.certificatesIssued()).toBe(issuedBefore + 1);
      const after = (await new FileStorage(dir).loadBundle(DOMAIN))!;
      expect(after["cert.pem"]).toBe(renewed.certPem);
      expect(after["key.pem"]).toBe(renewed.keyPem);
      expect(manager.status()).toMatchObject({ ready: true, renewals: 1, failures: 4, lastError: undefined });
      expect(lines.filter((line) => /msg="certificate swapped in" from=storage/.test(line))).toHaveLength(1);
      expect(violations).toEqual([]);

      // Backoff: one storage attempt per retry, 200 ms × 0.9 and then doubling up to 800 ms × 0.9.
      // (attempts[0] stored the first certificate; then three failures and the one that stored.)
      expect(attempts).toHaveLength(5);
      const gaps = attempts.slice(2).map((at, i) => at - attempts[i + 1]!);
      gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(180 * 2 ** i));
      for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    } finally {
      await manager.stop();
      await responder.stop(true);
      axiosDefaults.httpsAgent = savedAgent;
    }
  }, 60_000);
});

describe("a CA misbehaving", () => {
  const RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited";
  const SERVER_INTERNAL = "urn:ietf:params:acme:error:serverInternal";

  /** Pebble behind the fault-injecting proxy, and the server's environment pointing at the proxy. */
  async function caBehindProxy() {
    const acmePort = await quietPort();
    const ca = await startPebble({ httpPort: acmePort });
    const proxy = await startAcmeProxy({ upstreamDirectoryUrl: ca.directoryUrl, upstreamCa: ca.caCertPem, tls: pebbleListenerTls(ca) });
    const env = (tuning: Tuning) => serverEnv(newDir(), { directoryUrl: proxy.directoryUrl, caCertPath: ca.caCertPath }, acmePort, tuning);
    return {
      ca,
      proxy,
      env,
      async [Symbol.asyncDispose]() {
        await proxy.stop();
        await ca.stop();
      },
    };
  }

  test("429 rateLimited with Retry-After: type and detail logged, no request to the CA before Retry-After, success once the limit lifts", async () => {
    await using setup = await caBehindProxy();
    const { proxy } = setup;
    const RETRY_AFTER_S = 3;
    const detail = "too many new orders (10) from this account in the last 3 hours (test)";
    // Two refusals, then the limit lifts by itself.
    proxy.fail("newOrder", { status: 429, retryAfter: RETRY_AFTER_S, times: 2, problem: { type: RATE_LIMITED, detail } });
    // Our own backoff alone would retry after 0.2 s: Retry-After must win.
    await using server = spawnServer(setup.env({ retryMinMs: 200, retryMaxMs: 1_000 }));
    await expectServing(server, await setup.ca.root());

    const orders = proxy.requestsFor("newOrder");
    const limited = orders.filter((request) => request.faulted);
    expect(limited).toHaveLength(2);
    expect(orders.at(-1)!.status).toBe(201);
    for (const refused of limited) {
      // Nothing at all reached the CA until Retry-After had passed.
      const early = proxy.requests.filter((request) => request.at > refused.at && request.at < refused.at + RETRY_AFTER_S * 1_000);
      expect(early).toEqual([]);
    }
    const errors = server.lines.filter((line) => /level=error/.test(line));
    expect(errors).toHaveLength(2);
    for (const line of errors) {
      expect(line).toContain('msg="could not get a certificate; will retry"');
      expect(line).toContain(`reason="${detail}"`);
      expect(line).toContain(`problem=${RATE_LIMITED}`);
      expect(line).toContain("status=429");
      expect(line).toMatch(/ retryInSeconds=3 /);
      expect(line).toContain("hint=\"the CA's rate limit was hit");
    }
  });

  test("Retry-After is a minimum: even jitter at its lowest does not bring the retry earlier (in-process, no randomness)", async () => {
    await using setup = await caBehindProxy();
    const { ca, proxy } = setup;
    const axiosDefaults = acme.axios.defaults as { httpsAgent?: unknown };
    const savedAgent = axiosDefaults.httpsAgent;
    axiosDefaults.httpsAgent = new Agent({ ca: ca.caCertPem }); // the proxy shows Pebble's listener certificate
    const storage = new FileStorage(newDir());
    const responder = Bun.serve({
      hostname: "127.0.0.1",
      port: ca.httpPort,
      fetch: challengeResponder({ storage, domains: [DOMAIN], httpsPort: () => 443, health: () => new Response("ok") }),
    });
    proxy.fail("newOrder", { status: 429, retryAfter: 2, times: 1, problem: { type: RATE_LIMITED, detail: "slow down (test)" } });
    const manager = maintainCertificates({
      acme: { directoryUrl: proxy.directoryUrl, keyType: "ecdsa", timeoutMs: 5_000 },
      domains: [DOMAIN],
      storage,
      acmePort: ca.httpPort,
      renewRatio: 0.33,
      logger: createLogger("error", () => {}),
      tuning: { retryMinMs: 100 },
      // The backoff's jitter factor is 0.9 + 0.2 × random: 0.9 here, its lowest.
      random: () => 0,
      onCertificate: () => {},
    });
    try {
      await manager.start();
      await manager.ready();
      const [refused, next] = proxy.requestsFor("newOrder");
      expect(refused!.faulted).toBe(true);
      expect(next!.at - refused!.at).toBeGreaterThanOrEqual(2_000);
    } finally {
      await manager.stop();
      await responder.stop(true);
      axiosDefaults.httpsAgent = savedAgent;
    }
  });

  test("500s: each failure logged with its problem, retries with growing gaps and a bounded number of requests, success once the CA recovers", async () => {
    await using setup = await caBehindProxy();
    const { proxy } = setup;
    const detail = "the CA is having a bad day (test)";
    proxy.fail("newOrder", { status: 500, problem: { type: SERVER_INTERNAL, detail } });
    await using server = spawnServer(setup.env({ retryMinMs: 200, retryMaxMs: 60_000 }));
    const FAILURES = 5;
    const failed = () => proxy.requestsFor("newOrder").filter((request) => request.faulted);
    await waitUntil(() => failed().length >= FAILURES, `${FAILURES} failed orders`, 20_000, () => server.lines.join("\n"));
    proxy.clear();
    const recoveredAt = performance.now();
    await expectServing(server, await setup.ca.root());

    // One request per attempt (no hidden retries inside acme-client), at 0.2 s, 0.4 s, 0.8 s, 1.6 s (±10%) gaps.
    expect(failed()).toHaveLength(FAILURES);
    const gaps = failed()
      .slice(1)
      .map((request, i) => request.at - failed()[i]!.at);
    // Each gap at least the backoff's lower bound (200 ms × 2^i × 0.9), and each longer than the one before.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(180 * 2 ** i));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    // Everything sent to the CA while it failed: per attempt a directory look-up, a nonce and the
    // order (plus, once, the account); a loose bound, far below what a retry loop would send.
    const whileFailing = proxy.requests.filter((request) => request.at < recoveredAt);
    expect(whileFailing.filter((request) => request.resource === "directory").length).toBeLessThanOrEqual(FAILURES);
    expect(whileFailing.length).toBeLessThanOrEqual(FAILURES * 5);
    const errors = server.lines.filter((line) => /level=error/.test(line));
    expect(errors).toHaveLength(FAILURES);
    for (const line of errors) {
      expect(line).toContain(`reason="${detail}"`);
      expect(line).toContain(`problem=${SERVER_INTERNAL}`);
      expect(line).toContain("status=500");
    }
  });

  test("a CA that stops answering in the middle of an order (SIGSTOP while the server polls the challenge's status): the request times out, one log line says so, success after resume", async () => {
    await using setup = await caBehindProxy();
    const { ca, proxy } = setup;
    /** How many log lines the server had written when the CA stopped. */
    let pausedAfter: number | undefined;
    // The first challenge request tells the CA to validate; the second asks for the result.
    proxy.beforeForward("challenge", async () => {
      if (pausedAfter !== undefined || proxy.requestsFor("challenge").length < 2) return;
      pausedAfter = server.lines.length;
      await pauseCa(ca);
    });
    await using server = spawnServer(setup.env({ acmeTimeoutMs: 1_500, retryMinMs: 300, retryMaxMs: 1_000 }));
    const errorsSincePause = () => (pausedAfter === undefined ? [] : server.lines.slice(pausedAfter).filter((entry) => /level=error/.test(entry)));
    // Within seconds: polling must not retry a CA that does not answer for minutes, silently.
    await waitUntil(() => errorsSincePause().length > 0, "an error after the CA stopped", 20_000, () => server.lines.join("\n"));
    const line = errorsSincePause()[0]!;
    expect(line).toMatch(/msg="could not get a certificate; will retry" reason="no answer from the CA within the timeout \(.*1500 ?ms.*\)"/);
    // The line names the request that hung, and does not blame the directory URL.
    expect(line).toContain(`POST ${proxy.origin}${proxy.requestsFor("challenge")[1]!.path}`);
    expect(line).toContain('hint="the CA did not answer in time');
    // No request reached the proxy between the hung one and the next attempt's directory look-up.
    const hung = proxy.requestsFor("challenge")[1]!;
    const next = proxy.requests.find((request) => request.at > hung.at);
    expect(next?.resource ?? "directory").toBe("directory");
    ca.resume();
    await expectServing(server, await ca.root());
    expectOneLinePerEvent(server);
  });

  test("a CA that accepts connections but never answers (SIGSTOP before the first request): times out, one log line, success after resume", async () => {
    const acmePort = await quietPort();
    await using ca = await startPebble({ httpPort: acmePort });
    ca.pause();
    await using server = spawnServer(serverEnv(newDir(), ca, acmePort, { acmeTimeoutMs: 1_500, retryMinMs: 300, retryMaxMs: 1_000 }));
    const line = await server.waitFor(/level=error/, 20_000);
    expect(line).toMatch(/msg="could not get a certificate; will retry" reason="no answer from the CA within the timeout \(.*1500 ?ms.*\)"/);
    ca.resume();
    await expectServing(server, await ca.root());
    expectOneLinePerEvent(server);
  });
});

/**
 * SIGSTOPs Pebble and waits until the kernel reports it stopped: a signal
 * takes effect asynchronously, and a request forwarded at once was still
 * answered in about a third of the tries.
 */
async function pauseCa(ca: { caCertPath: string; pause(): void }): Promise<void> {
  // The harness does not expose the pid: find Pebble by its config file.
  const config = join(dirname(ca.caCertPath), "pebble-config.json");
  const pid = readdirSync("/proc").find((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      return argv[0]!.endsWith("pebble") && argv.includes(config);
    } catch {
      return false; // gone meanwhile
    }
  });
  if (!pid) throw new Error(`no pebble process with ${config}`);
  ca.pause();
  // State is the field after "(comm)" in /proc/<pid>/stat: T when stopped.
  const state = () => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  };
  await waitUntil(() => state() === "T", `pebble (pid ${pid}) to stop`, 5_000);
}

/** Every line the server wrote is one logfmt event: no stack trace or other multi-line output. */
function expectOneLinePerEvent(server: ServerProcess): void {
  expect(server.lines.filter((line) => !/^ts=\S+ level=(debug|info|warn|error) component=\S+ msg=/.test(line))).toEqual([]);
}
