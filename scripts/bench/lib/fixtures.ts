/**
 * Certificates and servers several items share: a Pebble CA, a certificate
 * the product obtained from it, a seeded certificate store, and the product
 * started in its usual configurations.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SEEDED_DIRECTORY, storeSelfSigned as storeSeeded } from "../../../test/support/seeded-certificate.ts";
import { startPebble, type Pebble, type PebbleOptions } from "../../../test/support/pebble.ts";
import { endpoint, probeUntilReady, type Endpoint, type ProbeKind } from "./mcp.ts";
import { DOMAIN, HONO_JSON, freePorts, newDir, say, spawnChild, type Child } from "./runtime.ts";

export { SEEDED_DIRECTORY };

const pebbles: Pebble[] = [];

/** A Pebble CA for this run (stopped on exit by its harness, or by `stopAll`). */
export async function pebble(options: PebbleOptions): Promise<Pebble> {
  say(`starting Pebble (VA no-sleep, authz reuse ${options.authzReuse ?? "default"})`);
  const ca = await startPebble(options);
  pebbles.push(ca);
  return ca;
}

export async function stopPebbles(): Promise<void> {
  await Promise.all(pebbles.splice(0).map((ca) => ca.stop()));
}

/** A certificate store holding a certificate the product itself obtained from Pebble. */
export interface IssuedStore {
  ca: Pebble;
  certsDir: string;
  /** The stable paths the product keeps: `<certsDir>/<domain>.cert.pem` / `.key.pem`. */
  certPath: string;
  keyPath: string;
  /** Pebble's issuing root: what clients trust. */
  root: string;
}

let issued: Promise<IssuedStore> | undefined;

/**
 * Runs the product once against Pebble, so that it orders a certificate and
 * stores it; later starts with the same directory URL and domain find it
 * usable and order nothing.
 */
export function issuedStore(binary: string): Promise<IssuedStore> {
  issued ??= (async () => {
    const [acmePort] = await freePorts(1);
    const ca = await pebble({ httpPort: acmePort!, noSleep: true });
    const certsDir = newDir("certs-pebble");
    const [port] = await freePorts(1);
    const server = startProduct(binary, { tls: { certsDir, directoryUrl: ca.directoryUrl, caCertPath: ca.caCertPath } }, port!, acmePort!);
    const root = await ca.root();
    try {
      await probeUntilReady(endpoint("https", server.port, root), "initialize", performance.now() + 60_000, 20, () => server.child.proc.exitCode === null);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- product log ---\n${server.child.log()}`);
    } finally {
      // SIGTERM: a clean stop, which releases anything it holds in the store.
      server.child.signal("SIGTERM");
      await server.child.proc.exited;
    }
    say("the product obtained a certificate from Pebble");
    return { ca, certsDir, certPath: join(certsDir, `${DOMAIN}.cert.pem`), keyPath: join(certsDir, `${DOMAIN}.key.pem`), root };
  })();
  return issued;
}

/** Stores a self-signed certificate for DOMAIN in `certsDir` as the product's own store would hold it. */
export function storeSelfSigned(certsDir: string, directoryUrl = SEEDED_DIRECTORY): Promise<{ certPem: string; serial: string }> {
  return storeSeeded(certsDir, DOMAIN, directoryUrl);
}

/** A certificate store seeded with a self-signed certificate (no CA needed: for load tests, where nothing verifies). */
export async function seededStore(): Promise<{ certsDir: string; certPath: string; keyPath: string }> {
  const certsDir = newDir("certs-seeded");
  await storeSelfSigned(certsDir);
  return { certsDir, certPath: join(certsDir, `${DOMAIN}.cert.pem`), keyPath: join(certsDir, `${DOMAIN}.key.pem`) };
}

export interface ProductOptions {
  /** HTTPS with a certificate store; plain HTTP without. */
  tls?: { certsDir: string; directoryUrl: string; caCertPath?: string };
  /** MCP_DOCS_SOURCE: the embedded guide by default. */
  docs?: "embedded" | "hono";
  /** Further settings. */
  env?: Record<string, string>;
  /** setpriv --pdeathsig: for servers that live through an item. */
  guard?: boolean;
}

export interface RunningProduct {
  child: Child;
  port: number;
  env: Record<string, string>;
}

let extraEnv: Record<string, string> = {};
/** Settings added to every start of the product (`--env KEY=VALUE`), e.g. to try a setting or a test-only tuning. */
export function setExtraProductEnv(env: Record<string, string>): void {
  extraEnv = env;
}

/** Starts the product on `port` (and, with TLS, `acmePort` for HTTP-01), not waiting for it. */
export function startProduct(binary: string, options: ProductOptions, port: number, acmePort?: number): RunningProduct {
  const env: Record<string, string> = {
    MCP_HOST: "127.0.0.1",
    MCP_PORT: String(port),
    MCP_DATA_DIR: newDir("data"),
    ...(options.docs === "hono" ? { MCP_DOCS_SOURCE: HONO_JSON, MCP_DOCS_REFRESH: "off" } : {}),
  };
  if (options.tls) {
    if (acmePort === undefined) throw new Error("TLS needs an ACME port");
    Object.assign(env, {
      MCP_DOMAINS: DOMAIN,
      MCP_ACME_PORT: String(acmePort),
      MCP_CERTS_DIR: options.tls.certsDir,
      MCP_ACME_DIRECTORY: options.tls.directoryUrl,
      ...(options.tls.caCertPath ? { NODE_EXTRA_CA_CERTS: options.tls.caCertPath } : {}),
    });
  }
  Object.assign(env, options.env, extraEnv);
  const child = spawnChild([binary], env, { guard: options.guard, name: "mcp-server" });
  return { child, port, env };
}

/** Waits until a started server answers `initialize`; throws with its log otherwise. */
export async function waitReady(server: { child: Child; port: number }, target: Endpoint, timeoutMs = 30_000, probe: ProbeKind = "initialize"): Promise<void> {
  try {
    await probeUntilReady(target, probe, performance.now() + timeoutMs, 10, () => server.child.proc.exitCode === null);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- log ---\n${server.child.log().slice(-3000)}`);
  }
}

export function readText(path: string): string {
  return readFileSync(path, "utf8");
}
