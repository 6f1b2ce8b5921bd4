/**
 * A real ACME CA for tests: Let's Encrypt's Pebble (Debian package `pebble`, 2.4)
 * plus `pebble-challtestsrv` as its DNS server, both bound to loopback on free
 * ports so that several harnesses (or several CI jobs) can share one machine.
 *
 * Contract, in short:
 * - `startPebble({ httpPort })` returns once the ACME directory answers over
 *   HTTPS. Pebble's VA validates HTTP-01 by connecting to `<name>:<httpPort>`,
 *   and every name resolves (through challtestsrv) to 127.0.0.1, so the
 *   responder under test must listen on that port on 127.0.0.1, 0.0.0.0 or "::".
 *   Only A records by default: when challtestsrv also answers AAAA ::1, Pebble
 *   2.4's VA dials [::1] alone and never falls back to 127.0.0.1, so an
 *   IPv4-only responder fails validation ("dial tcp [::1]:<port>: connect:
 *   connection refused"). `ipv6: true` opts into that.
 * - Pebble's HTTPS listeners use a throwaway CA made for this harness instance
 *   (`caCertPath`/`caCertPem`). A child process trusts it through
 *   `NODE_EXTRA_CA_CERTS=<caCertPath>` (read by Bun at start-up only); in-process
 *   code must pass it explicitly: `fetch(url, { tls: { ca } })` or
 *   `acme.axios.defaults.httpsAgent = new https.Agent({ ca })`.
 * - The issuing root (what the server's certificate chains to) is NOT that CA:
 *   Pebble makes a new root and intermediate on every start; `root()` returns
 *   the current one.
 * - Pebble's 5 % badNonce rejection stays on, as in production: clients must
 *   retry badNonce.
 * - Child processes die with `stop()`, on process exit, and (via
 *   `setpriv --pdeathsig`) even when the test runner itself is SIGKILLed.
 *
 * Pebble 2.4 facts this file relies on (checked against the binary, not docs):
 * - config keys (Go struct `ListenAddress, ManagementListenAddress, HTTPPort,
 *   TLSPort, Certificate, PrivateKey, OCSPResponderURL,
 *   ExternalAccountBindingRequired, ExternalAccountMACKeys, DomainBlocklist,
 *   CertificateValidityPeriod`; Go's JSON decoding matches them
 *   case-insensitively, and Pebble logs "Using certificate validity period of
 *   N seconds" when the last one is picked up);
 * - challtestsrv 2.4 has no `-doh` flag (passing it aborts start-up), and
 *   `-defaultIPv6 ""` makes it answer AAAA queries with no records;
 * - log lines: `Added order "<id>" to the db` once per order created (unlike
 *   `POST /order-plz -> calling handler()`, which also counts requests rejected
 *   for badNonce or an unknown account), `There are now <n> accounts in memory`
 *   once per account created (not for `onlyReturnExisting` look-ups or
 *   POST-as-GET of an account), `Issued certificate serial <hex> for order <id>`
 *   once per certificate.
 */
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { installExitHook, liveChildren, liveDirs } from "./cleanup.ts";
import { ensureCommands, findCommand } from "./debian.ts";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PebbleOptions {
  /** Port Pebble's VA connects to for HTTP-01: the ACME (port-80 stand-in) port of the server under test. */
  httpPort: number;
  /** Lifetime of issued certificates, in seconds (Pebble's default is 5 years). */
  certificateValidityPeriod?: number;
  /** PEBBLE_AUTHZREUSE: percent of new orders that reuse a valid authorization; Pebble's default (50) when absent. */
  authzReuse?: number;
  /** PEBBLE_VA_NOSLEEP=1 (default true): without it Pebble sleeps 0–15 s before each validation. */
  noSleep?: boolean;
  /**
   * Also answer AAAA queries with ::1 (default false: A 127.0.0.1 only). Pebble's VA then
   * connects over IPv6 only, so the responder must listen on ::1 or "::".
   */
  ipv6?: boolean;
  /** How long to wait for Pebble's directory to answer after each (re)start, in ms (default 15 000). */
  startTimeoutMs?: number;
  /**
   * `host:port` of the DNS server Pebble's VA asks (for DNS-01's TXT records
   * and every name it resolves) instead of challtestsrv: a real BIND
   * (test/support/bind.ts) in the DNS-01 tests.
   */
  dnsServer?: string;
  /** Require external account binding, with these key ids and their base64url HMAC keys. */
  externalAccounts?: Record<string, string>;
}

export interface Pebble {
  /** ACME directory, e.g. `https://127.0.0.1:<port>/dir`. Stable across `restart()`. */
  readonly directoryUrl: string;
  /** Pebble's management interface (HTTPS, same throwaway CA), e.g. `https://127.0.0.1:<port>`. */
  readonly managementUrl: string;
  /** PEM file of the throwaway CA that signed Pebble's HTTPS listener certificate: for NODE_EXTRA_CA_CERTS. */
  readonly caCertPath: string;
  /** The same CA as PEM text, for in-process `tls: { ca }` / `https.Agent({ ca })`. */
  readonly caCertPem: string;
  /** Port of challtestsrv's DNS server (UDP and TCP on 127.0.0.1): every A is 127.0.0.1; AAAA is ::1 with `ipv6`, else empty. */
  readonly dnsPort: number;
  /** challtestsrv's management API (plain HTTP), e.g. to add DNS records. */
  readonly challtestsrvUrl: string;
  /** The HTTP-01 port this Pebble validates against (`options.httpPort`). */
  readonly httpPort: number;
  /** PEM of the current issuing root (`/roots/0`), fetched once per (re)start so it also works while paused. */
  root(): Promise<string>;
  /** PEM of the current intermediate (`/intermediates/0`), fetched once per (re)start. */
  intermediate(): Promise<string>;
  /** Everything Pebble and challtestsrv printed so far (all incarnations, interleaved), for debugging. */
  logs(): string;
  /** New orders Pebble accepted since the harness started (across restarts), from its log. */
  ordersPlaced(): number;
  /** New accounts Pebble created since the harness started (across restarts), from its log. */
  accountsCreated(): number;
  /** Certificates Pebble issued since the harness started (across restarts), from its log. */
  certificatesIssued(): number;
  /** SIGKILLs Pebble (a crash: the CA is unreachable until `restart()`); challtestsrv keeps running. */
  kill(): void;
  /** SIGSTOPs Pebble: connections are accepted by the kernel but never answered, i.e. a hung CA. */
  pause(): void;
  /** SIGCONTs Pebble after `pause()`. */
  resume(): void;
  /**
   * Stops Pebble (if still running) and starts it again on the same ports. Like a real
   * Pebble restart it forgets all accounts, orders and authorizations and makes a new
   * root and intermediate. Resolves once the directory answers again.
   */
  restart(): Promise<void>;
  /** Stops both processes and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes sure `pebble`, `pebble-challtestsrv` and `openssl` are on PATH,
 * installing Debian's packages when missing (see test/support/debian.ts).
 */
export function ensurePebbleInstalled(): Promise<void> {
  return ensureCommands(
    [
      ["pebble", "pebble"],
      ["pebble-challtestsrv", "pebble"],
      ["openssl", "openssl"],
    ],
    "Pebble tests",
  );
}

/**
 * A port that was free on `hostname` a moment ago: binds port 0, reads it, closes.
 * Racy by nature (someone else may take it before you bind); `startPebble` retries
 * on "address already in use" for its own ports.
 */
export async function freePort(hostname = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, hostname);
  return port!;
}

/** `count` distinct free ports: all are held open together so none is handed out twice. */
async function freePorts(count: number, hostname = "127.0.0.1"): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, hostname, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("unexpected server address");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/**
 * Starts challtestsrv and Pebble on fresh loopback ports and waits until the ACME
 * directory answers (and the issuing root has been read). Installs the packages
 * first if needed (see `ensurePebbleInstalled`). Throws, with both processes' output,
 * if Pebble does not come up within `startTimeoutMs`.
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  await ensurePebbleInstalled();
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), "pebble-"));
  liveDirs.add(dir);
  try {
    const tls = makeListenerCertificate(dir);
    // Free ports can be stolen between our probe and the child's bind: retry with new ones.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(options, dir, tls);
      } catch (error) {
        if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
      }
    }
  } catch (error) {
    liveDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

class PortInUseError extends Error {}

interface ListenerTls {
  caCertPath: string;
  caCertPem: string;
  certPath: string;
  keyPath: string;
}

/** A throwaway CA and a `localhost` / 127.0.0.1 / ::1 certificate it signed, for Pebble's HTTPS listeners. */
function makeListenerCertificate(dir: string): ListenerTls {
  const config = join(dir, "openssl.cnf");
  // Our own config rather than the system's, so the extensions do not depend on the machine's openssl.cnf.
  writeFileSync(
    config,
    [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "[dn]",
      "CN = unused",
      "[ca]",
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier = hash",
      "[leaf]",
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature",
      "extendedKeyUsage = serverAuth",
      "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid",
      "",
    ].join("\n"),
  );
  const caKey = join(dir, "ca.key");
  const caCertPath = join(dir, "ca.pem");
  const csr = join(dir, "listener.csr");
  const keyPath = join(dir, "listener.key");
  const certPath = join(dir, "listener.pem");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const serial = `0x${crypto.getRandomValues(new Uint8Array(8)).reduce((hex, byte) => hex + byte.toString(16).padStart(2, "0"), "")}`;
  for (const argv of [
    ["req", "-x509", "-config", config, "-extensions", "ca", ...ec, "-keyout", caKey, "-out", caCertPath, "-days", "30", "-subj", "/CN=pebble harness throwaway CA"],
    ["req", "-new", "-config", config, ...ec, "-keyout", keyPath, "-out", csr, "-subj", "/CN=localhost"],
    ["x509", "-req", "-in", csr, "-CA", caCertPath, "-CAkey", caKey, "-set_serial", serial, "-days", "30", "-extfile", config, "-extensions", "leaf", "-out", certPath],
  ]) {
    const result = Bun.spawnSync([findCommand("openssl") ?? "openssl", ...argv], { stdout: "pipe", stderr: "pipe" });
    if (result.exitCode !== 0) {
      throw new Error(`openssl ${argv.join(" ")} failed:\n${result.stdout.toString()}${result.stderr.toString()}`);
    }
  }
  return { caCertPath, caCertPem: readFileSync(caCertPath, "utf8"), certPath, keyPath };
}

/** Prefix making the kernel SIGKILL the child when we die, even by SIGKILL (no "exit" handler runs then). */
function deathSignalPrefix(): string[] {
  const setpriv = findCommand("setpriv");
  return setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : [];
}

/** The environment without PEBBLE_* knobs a developer may have exported, so runs are reproducible. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("PEBBLE_")) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Spawns a child whose stdout and stderr are appended to `sink`; `drained` settles when both streams end. */
function spawnLogged(argv: string[], env: Record<string, string>, sink: (text: string) => void): { proc: Subprocess<"ignore", "pipe", "pipe">; drained: Promise<void> } {
  const proc = spawn([...deathSignalPrefix(), ...argv], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  liveChildren.add(proc);
  void proc.exited.then(() => liveChildren.delete(proc));
  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
    sink(decoder.decode());
  };
  return { proc, drained: Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(() => undefined) };
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. Resolves on exit. */
async function terminate(proc: Subprocess, graceMs = 2_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGCONT"); // a SIGSTOPped process would sit on SIGTERM forever
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function launch(options: PebbleOptions, dir: string, listener: ListenerTls): Promise<Pebble> {
  const [acmePort, managementPort, tlsPort, dnsPort, challtestsrvPort] = (await freePorts(5)) as [number, number, number, number, number];
  const host = "127.0.0.1";
  const directoryUrl = `https://${host}:${acmePort}/dir`;
  const managementUrl = `https://${host}:${managementPort}`;
  const challtestsrvUrl = `http://${host}:${challtestsrvPort}`;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;

  const configPath = join(dir, "pebble-config.json");
  const pebbleConfig: Record<string, unknown> = {
    listenAddress: `${host}:${acmePort}`,
    managementListenAddress: `${host}:${managementPort}`,
    certificate: listener.certPath,
    privateKey: listener.keyPath,
    httpPort: options.httpPort,
    // Nothing answers TLS-ALPN-01 here; the port only has to be one nobody else validates on.
    tlsPort,
    ocspResponderURL: "",
    externalAccountBindingRequired: options.externalAccounts !== undefined,
    ...(options.externalAccounts ? { externalAccountMACKeys: options.externalAccounts } : {}),
  };
  if (options.certificateValidityPeriod !== undefined) pebbleConfig.certificateValidityPeriod = options.certificateValidityPeriod;
  writeFileSync(configPath, JSON.stringify({ pebble: pebbleConfig }, null, 2));

  const chunks: string[] = [];
  const sink = (text: string): void => {
    if (text) chunks.push(text);
  };
  const logs = (): string => chunks.join("");
  const countLines = (pattern: RegExp): number => logs().match(pattern)?.length ?? 0;

  const env = cleanEnv({
    ...(options.noSleep ?? true ? { PEBBLE_VA_NOSLEEP: "1" } : {}),
    ...(options.authzReuse !== undefined ? { PEBBLE_AUTHZREUSE: String(options.authzReuse) } : {}),
  });

  const challtestsrv = spawnLogged(
    [
      findCommand("pebble-challtestsrv") ?? "pebble-challtestsrv",
      // Only the DNS server is wanted: our own responder answers HTTP-01.
      ...["-http01", "", "-https01", "", "-tlsalpn01", ""],
      ...["-dns01", `${host}:${dnsPort}`, "-management", `${host}:${challtestsrvPort}`],
      // Every name resolves to loopback, so the VA reaches the responder on httpPort
      // (no AAAA unless asked: the VA would then try ::1 only, see the file comment).
      ...["-defaultIPv4", "127.0.0.1", "-defaultIPv6", options.ipv6 ? "::1" : ""],
    ],
    cleanEnv({}),
    sink,
  );

  let pebble: { proc: Subprocess<"ignore", "pipe", "pipe">; drained: Promise<void> } | undefined;
  let issuers: Promise<{ root: string; intermediate: string }> | undefined;
  let stopped = false;

  const fetchPem = async (path: string): Promise<string> => {
    const response = await fetch(`${managementUrl}${path}`, { tls: { ca: listener.caCertPem }, signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`GET ${managementUrl}${path}: HTTP ${response.status}`);
    return response.text();
  };

  /** Fails fast with the logs when a child dies during start-up. */
  const failure = (what: string): Error => {
    const text = logs();
    const message = `${what}\n--- pebble / challtestsrv output ---\n${text}`;
    return /address already in use/.test(text) ? new PortInUseError(message) : new Error(message);
  };

  const waitUntil = async (what: string, proc: Subprocess, ready: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await sleep(50); // let the last log lines arrive
        throw failure(`${what} exited (${proc.exitCode ?? proc.signalCode}) during start-up`);
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw failure(`${what} did not come up within ${startTimeoutMs} ms`);
      await sleep(25);
    }
  };

  const startPebbleProcess = async (): Promise<void> => {
    const proc = spawnLogged([findCommand("pebble") ?? "pebble", "-config", configPath, "-dnsserver", options.dnsServer ?? `${host}:${dnsPort}`], env, sink);
    pebble = proc;
    await waitUntil(`pebble (${directoryUrl})`, proc.proc, async () => {
      const response = await fetch(directoryUrl, { tls: { ca: listener.caCertPem }, signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return response.ok;
    });
    // Read the new root and intermediate now, so root() works even while Pebble is paused or dead.
    const current = Promise.all([fetchPem("/roots/0"), fetchPem("/intermediates/0")]).then(([root, intermediate]) => ({ root, intermediate }));
    await current;
    issuers = current;
  };

  const killChildren = async (): Promise<void> => {
    await Promise.all([pebble ? terminate(pebble.proc) : undefined, terminate(challtestsrv.proc)]);
  };

  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killChildren();
    liveDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(`pebble-challtestsrv (${challtestsrvUrl})`, challtestsrv.proc, async () => {
      // Any HTTP answer means its servers (DNS included) have been started.
      const response = await fetch(`${challtestsrvUrl}/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return true;
    });
    await startPebbleProcess();
  } catch (error) {
    // The temp dir (with the listener certificate) stays: startPebble may retry on new ports.
    await killChildren();
    throw error;
  }

  const requireRunning = (): Subprocess => {
    if (stopped || !pebble) throw new Error("pebble harness already stopped");
    return pebble.proc;
  };

  return {
    directoryUrl,
    managementUrl,
    caCertPath: listener.caCertPath,
    caCertPem: listener.caCertPem,
    dnsPort,
    challtestsrvUrl,
    httpPort: options.httpPort,
    root: async () => (await issuers!).root,
    intermediate: async () => (await issuers!).intermediate,
    logs,
    ordersPlaced: () => countLines(/Added order "[^"]*" to the db/g),
    accountsCreated: () => countLines(/There are now \d+ accounts in memory/g),
    certificatesIssued: () => countLines(/Issued certificate serial \S+ for order /g),
    kill: () => {
      requireRunning().kill("SIGKILL");
    },
    pause: () => {
      requireRunning().kill("SIGSTOP");
    },
    resume: () => {
      requireRunning().kill("SIGCONT");
    },
    restart: async () => {
      const old = requireRunning();
      await terminate(old);
      await pebble!.drained;
      sink("--- pebble harness: restarting pebble ---\n");
      try {
        await startPebbleProcess();
      } catch (error) {
        await stopAll();
        throw error;
      }
    },
    stop: stopAll,
    [Symbol.asyncDispose]: stopAll,
  };
}
