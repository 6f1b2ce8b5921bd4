import type { Server } from "bun";
import { readFileSync } from "node:fs";
import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { CertificateManager, type CertificateStatus } from "./certificate-manager.ts";
import { challengeResponder } from "./challenge-responder.ts";
import { TlsListener } from "./tls-listener.ts";
import type { OrderSettings, OrderStep } from "./acme-order.ts";

export interface HttpsServerOptions {
  hostname: string;
  port: number;
  acmePort: number;
  /** `always`: port 80 stays up (challenges, /healthz, redirects); `on-demand`: only while ordering. */
  acmeListen: "always" | "on-demand";
  domains: string[];
  storage: Storage;
  order: Omit<OrderSettings, "logger" | "storage" | "domains" | "acmePort">;
  renewRatio: number;
  /** The application, served over HTTPS only. */
  fetch: (request: Request, server: Server<unknown>) => Response | Promise<Response>;
  /** `/healthz` body for both ports; `ready` decides 200 or 503. */
  health: (certificate: CertificateStatus) => { ready: boolean; body: unknown };
  idleTimeout: number;
  logger: Logger;
  /** Tuning for tests; production uses the defaults. */
  tuning?: {
    retryMinMs?: number;
    retryMaxMs?: number;
    drainMs?: number;
    storagePollMs?: number;
    acmeTimeoutMs?: number;
    /** Crash tests: the process kills itself (SIGKILL) when an order reaches this step. */
    crashAt?: OrderStep;
    /** Replica tests: the process stops itself (SIGSTOP) at this step, holding the lock, until SIGCONT. */
    pauseAt?: OrderStep;
    lockTtlMs?: number;
  };
}

export interface HttpsServer {
  certificates: CertificateManager;
  /** Resolves once the first certificate is served over HTTPS. */
  ready: Promise<void>;
  /** The HTTPS port, once listening. */
  readonly port: number | undefined;
  readonly acmePort: number | undefined;
  /** Stops accepting HTTPS connections; requests in flight go on. */
  stopAccepting(): void;
  stop(): Promise<void>;
}

/**
 * HTTPS with a certificate of its own: the port-80 responder for HTTP-01
 * challenges and redirects, the certificate manager that obtains and renews,
 * and the TLS listener that serves the app and swaps certificates live.
 */
export async function startHttpsServer(options: HttpsServerOptions): Promise<HttpsServer> {
  const log = options.logger;
  let certificates: CertificateManager;
  const healthResponse = () => {
    const { ready, body } = options.health(certificates.status());
    return Response.json(body, { status: ready ? 200 : 503 });
  };

  let responder: Server<unknown> | undefined;
  const startResponder = () => {
    responder ??= Bun.serve({
      hostname: options.hostname,
      port: options.acmePort,
      // Several processes sharing storage can all bind it; whichever the CA
      // reaches answers, since challenges are read from storage.
      reusePort: true,
      idleTimeout: 10,
      fetch: challengeResponder({
        storage: options.storage,
        domains: options.domains,
        httpsPort: () => listener.port ?? options.port,
        health: healthResponse,
      }),
    });
  };
  const stopResponder = () => {
    void responder?.stop(true);
    responder = undefined;
  };

  const listener = new TlsListener({
    hostname: options.hostname,
    port: options.port,
    fetch: options.fetch,
    idleTimeout: options.idleTimeout,
    logger: log,
    drainMs: options.tuning?.drainMs,
  });

  warnIfSwapsCanDrop(log);
  startResponder();
  const acmePort = responder!.port;
  certificates = new CertificateManager({
    order: {
      ...options.order,
      domains: options.domains,
      storage: options.storage,
      acmePort: acmePort!,
      timeoutMs: options.tuning?.acmeTimeoutMs,
      onStep:
        options.tuning?.crashAt || options.tuning?.pauseAt
          ? async (step) => {
              if (step === options.tuning?.crashAt) {
                log.warn("test crash point reached; killing the process", { step });
                process.kill(process.pid, "SIGKILL");
              }
              if (step === options.tuning?.pauseAt) {
                log.warn("test pause point reached; stopping the process", { step });
                // Let the log line out before the process stops.
                await Bun.sleep(50);
                process.kill(process.pid, "SIGSTOP");
              }
            }
          : undefined,
    },
    renewRatio: options.renewRatio,
    logger: log,
    retryMinMs: options.tuning?.retryMinMs,
    retryMaxMs: options.tuning?.retryMaxMs,
    storagePollMs: options.tuning?.storagePollMs,
    lockTtlMs: options.tuning?.lockTtlMs,
    onCertificate: (bundle) => listener.serve(bundle.certPem, bundle.keyPem),
    onOrder: (phase) => {
      if (options.acmeListen === "always") return;
      if (phase === "start") startResponder();
      else stopResponder();
    },
  });
  await certificates.start();
  if (options.acmeListen === "on-demand" && certificates.current) stopResponder();

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
      return responder?.port ?? acmePort;
    },
    stopAccepting() {
      listener.stopAccepting();
    },
    async stop() {
      await certificates.stop();
      stopResponder();
      await listener.stop();
    },
  };
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
