import type { Server } from "bun";
import { readFileSync } from "node:fs";
import type { Tuning } from "../config/tuning.ts";
import type { Logger } from "../log/index.ts";
import type { BundleNotifier } from "../storage/notifier.ts";
import type { Storage } from "../storage/storage.ts";
import { orderCertificate, type AcmeSettings, type OrderStep } from "./acme-order.ts";
import { certificateKeys, CertificateStore } from "./bundle.ts";
import { challengeSolvers, type ChallengeSettings } from "./challenges.ts";
import type { CertificateBundle } from "./certificate.ts";
import { ChallengeListener } from "./challenge-listener.ts";
import { challengeResponder } from "./challenge-responder.ts";
import { systemClock, type Clock } from "./clock.ts";
import { CertificateIssuer } from "./issuer.ts";
import { CertificateMaintainer, type CertificateStatus } from "./maintain.ts";
import { ariPolicy } from "./ari.ts";
import { lifetimeRatio } from "./renewal-policy.ts";
import { TlsListener } from "./tls-listener.ts";

/**
 * Called at each step of an order that matters, with the TLS logger. Not a
 * setting: only a test entry point passes one (test/support/server-entry.ts
 * installs its crash points here), so the shipped binary has none.
 */
export type OrderStepHook = (step: OrderStep, log: Logger) => void | Promise<void>;

export interface CertificatesOptions {
  domains: string[];
  storage: Storage;
  acme: AcmeSettings;
  /** HTTP-01 (the default) or DNS-01, and how. */
  challenge?: ChallengeSettings;
  /** Port of our HTTP-01 responder, checked over loopback before the CA is asked to validate. */
  acmePort: number;
  /** Renew when less than this fraction of the lifetime is left. */
  renewRatio: number;
  logger: Logger;
  /** Called with every new certificate to serve. */
  onCertificate: (bundle: CertificateBundle) => void | Promise<void>;
  /** Around each order (port 80 on demand). */
  onOrder?: (phase: "start" | "end") => void;
  onOrderStep?: OrderStepHook;
  tuning?: Tuning;
  clock?: Clock;
  /** The jitter's randomness, in [0, 1). */
  random?: () => number;
}

/**
 * The certificate machinery without listeners: the store, the HTTP-01
 * solver, the issuer and the maintenance loop, wired as `startHttpsServer`
 * runs them (and as the in-process fault tests do).
 */
export function maintainCertificates(options: CertificatesOptions): CertificateMaintainer {
  const { domains, storage, acme, logger: log, tuning = {} } = options;
  const clock = options.clock ?? systemClock;
  const onStep = options.onOrderStep && ((step: OrderStep) => options.onOrderStep!(step, log));
  const store = new CertificateStore({ storage, domains, directoryUrl: acme.directoryUrl, clock, logger: log });
  const given = options.challenge ?? { type: "http-01" };
  const challenge = given.type === "dns-01" ? { ...given, pollMs: tuning.dnsPollMs ?? given.pollMs } : given;
  const solvers = challengeSolvers(challenge, { storage, acmePort: options.acmePort, logger: log });
  const issuer = new CertificateIssuer({
    store,
    locker: storage,
    domains,
    directoryUrl: acme.directoryUrl,
    order: (replacing) => orderCertificate({ ...acme, timeoutMs: tuning.acmeTimeoutMs ?? acme.timeoutMs, domains, replacing, storage, solvers, logger: log, onStep }),
    clock,
    logger: log,
    lockTtlMs: tuning.lockTtlMs,
    onOrder: options.onOrder,
    onStep,
  });
  return new CertificateMaintainer({
    store,
    issuer,
    // The CA's window where it offers ARI (RFC 9773), the lifetime ratio otherwise.
    policy: ariPolicy({
      directoryUrl: acme.directoryUrl,
      fallback: lifetimeRatio(options.renewRatio),
      clock,
      logger: log,
      timeoutMs: tuning.acmeTimeoutMs ?? acme.timeoutMs,
      minRecheckMs: tuning.ariRecheckMinMs,
    }),
    clock,
    random: options.random ?? Math.random,
    logger: log,
    onCertificate: options.onCertificate,
    retryMinMs: tuning.retryMinMs,
    retryMaxMs: tuning.retryMaxMs,
    storagePollMs: tuning.storagePollMs,
  });
}

export interface HttpsServerOptions {
  hostname: string;
  port: number;
  acmePort: number;
  /** `always`: port 80 stays up (challenges, /healthz, redirects); `on-demand`: only while ordering. */
  acmeListen: "always" | "on-demand";
  domains: string[];
  storage: Storage;
  /** Shared storage's notifier: another replica's renewal is swapped in at once. */
  notifier?: BundleNotifier;
  acme: AcmeSettings;
  challenge: ChallengeSettings;
  renewRatio: number;
  /** The application, served over HTTPS only. */
  fetch: (request: Request, server: Server<unknown>) => Response | Promise<Response>;
  /** `/healthz` body for both ports; `ready` decides 200 or 503. */
  health: (certificate: CertificateStatus) => { ready: boolean; body: unknown };
  idleTimeout: number;
  logger: Logger;
  /** Timing for tests (`MCP_TEST_TUNING`); production uses the defaults. */
  tuning?: Tuning;
  onOrderStep?: OrderStepHook;
}

export interface HttpsServer {
  certificates: CertificateMaintainer;
  /** Resolves once the first certificate is served over HTTPS. */
  ready: Promise<void>;
  /** The HTTPS port, once listening. */
  readonly port: number | undefined;
  readonly acmePort: number | undefined;
  /** Stops accepting HTTPS connections, and certificates from other replicas; requests in flight go on. */
  stopAccepting(): void;
  stop(): Promise<void>;
}

/**
 * HTTPS with a certificate of its own, composed of: the port-80 listener for
 * HTTP-01 challenges and redirects, the certificate machinery that obtains
 * and renews (maintain.ts decides when), the TLS listener that serves the
 * app and swaps certificates live, and, with shared storage, the
 * subscription that swaps in what another replica renewed.
 */
export async function startHttpsServer(options: HttpsServerOptions): Promise<HttpsServer> {
  const log = options.logger;
  let certificates: CertificateMaintainer;
  const responder = new ChallengeListener({
    hostname: options.hostname,
    port: options.acmePort,
    mode: options.acmeListen,
    fetch: challengeResponder({
      storage: options.storage,
      domains: options.domains,
      httpsPort: () => listener.port ?? options.port,
      health: () => {
        const { ready, body } = options.health(certificates.status());
        return Response.json(body, { status: ready ? 200 : 503 });
      },
    }),
  });
  const listener = new TlsListener({
    hostname: options.hostname,
    port: options.port,
    fetch: options.fetch,
    idleTimeout: options.idleTimeout,
    logger: log,
    drainMs: options.tuning?.drainMs,
  });

  warnIfSwapsCanDrop(log);
  responder.start();
  log.info("challenge responder listening", { acmePort: responder.port, mode: options.acmeListen });
  certificates = maintainCertificates({
    domains: options.domains,
    storage: options.storage,
    acme: options.acme,
    challenge: options.challenge,
    acmePort: responder.port!,
    renewRatio: options.renewRatio,
    logger: log,
    tuning: options.tuning,
    onOrderStep: options.onOrderStep,
    onCertificate: (bundle) => listener.serve(bundle.certPem, bundle.keyPem),
    // DNS-01 needs no port 80 to order: on demand, it stays closed.
    onOrder: options.challenge.type === "http-01" ? (phase) => responder.onOrder(phase) : undefined,
  });
  await certificates.start();
  if (certificates.current) responder.idle();
  const unsubscribe = subscribeToRenewals(options.notifier, certificateKeys.bundle(options.domains[0]!), certificates, log);

  const ready = certificates.ready().then(() => {
    log.info("serving https", { url: `https://${options.domains[0]}${listener.port === 443 ? "" : `:${listener.port}`}/mcp`, port: listener.port });
  });

  return {
    certificates,
    ready,
    get port() {
      return listener.port;
    },
    get acmePort() {
      return responder.port;
    },
    stopAccepting() {
      unsubscribe();
      listener.stopAccepting();
    },
    async stop() {
      unsubscribe();
      await certificates.stop();
      responder.stop();
      await listener.stop();
    },
  };
}

/**
 * With shared storage, another replica's renewal arrives at once (the
 * maintenance loop also polls storage, for when a message is missed).
 * Returns the unsubscribe function (a no-op without a notifier).
 */
function subscribeToRenewals(notifier: BundleNotifier | undefined, bundle: string, certificates: CertificateMaintainer, log: Logger): () => void {
  if (!notifier) return () => {};
  return notifier.subscribe((name) => {
    if (name === bundle) void certificates.reload().catch((error) => log.warn("could not reload the certificate", { error }));
  });
}

/**
 * A certificate swap retires a SO_REUSEPORT listener. Unless the kernel
 * migrates its queued connections (`net.ipv4.tcp_migrate_req=1`, Linux 5.14+),
 * the few that were accepted by the kernel but not yet by the server are
 * reset. Say so once at start, with the fix.
 */
function warnIfSwapsCanDrop(log: Logger): void {
  let value: string;
  try {
    value = readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
  } catch {
    return; // Not Linux, or a kernel without the setting: nothing to advise.
  }
  if (value === "0") {
    log.warn("net.ipv4.tcp_migrate_req is 0: a certificate swap under load may reset a few connections waiting to be accepted; set it to 1 (scripts/99-mcp-server.conf)");
  }
}
