import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { createStorage, type OpenedStorage } from "../storage/create-storage.ts";
import type { AcmeSettings } from "../tls/acme-order.ts";
import type { ChallengeSettings } from "../tls/challenges.ts";
import { directoryUrl } from "../tls/directory.ts";
import { startHttpsServer, type HttpsServer, type HttpsServerOptions } from "../tls/https-server.ts";
import type { Listener } from "./listener.ts";

/**
 * HTTPS with a certificate of its own for `domains` (`MCP_DOMAINS`), kept
 * in the configured storage: the certificate directory, or Redis shared by
 * replicas.
 */
export function httpsListener(
  config: Config,
  domains: string[],
  logger: Logger,
  options: Pick<HttpsServerOptions, "tuning" | "onOrderStep"> = {},
): Listener {
  let opened: OpenedStorage | undefined;
  let https: HttpsServer | undefined;
  return {
    names: domains,
    // Asked for by requests, which come once the HTTPS server runs.
    certificate: () => https?.certificates.status() ?? { ready: false, renewals: 0, failures: 0 },
    async open() {
      opened = await createStorage({
        storage: config.storage,
        certsDir: config.certsDir,
        namespace: config.storageNamespace,
        encryptionKey: config.storageEncryptionKey,
      });
      logger.info("certificate storage", { storage: opened.storage.description });
      for (const note of opened.notes) logger.warn("certificate storage put right", { detail: note });
      return new URL(`https://${domains[0]}${config.port === 443 ? "" : `:${config.port}`}`);
    },
    async serve({ fetch, health }) {
      https = await startHttpsServer({
        hostname: config.host,
        port: config.port,
        acmePort: config.acmePort,
        acmeListen: config.acmeListen as "always" | "on-demand",
        domains,
        storage: opened!.storage,
        notifier: opened!.notifier,
        acme: acmeSettings(config),
        challenge: challengeSettings(config),
        renewRatio: config.renewRatio,
        fetch,
        health,
        // Closes idle keep-alive connections and stalled requests; event streams lift it for themselves.
        idleTimeout: config.idleTimeout / 1000,
        logger: logger.child("tls"),
        tuning: options.tuning,
        onOrderStep: options.onOrderStep,
      });
    },
    get port() {
      return https?.port ?? config.port;
    },
    get https() {
      return https;
    },
    stopAccepting() {
      https?.stopAccepting();
    },
    async stop() {
      await https?.stop();
      await opened?.storage.close();
    },
    async reload() {
      await https?.certificates.reload();
    },
  };
}

/** The ACME part of the settings. */
function acmeSettings(config: Config): AcmeSettings {
  return {
    directoryUrl: directoryUrl(config.acmeDirectory),
    email: config.acmeEmail,
    eab: config.acmeEabKid && config.acmeEabHmacKey ? { kid: config.acmeEabKid, hmacKey: config.acmeEabHmacKey } : undefined,
    profile: config.acmeProfile,
    keyType: config.keyType as "ecdsa" | "rsa",
  };
}

/** The challenge part of the settings. */
function challengeSettings(config: Config): ChallengeSettings {
  if (config.acmeChallenge !== "dns-01") return { type: "http-01" };
  return {
    type: "dns-01",
    server: config.dnsServer,
    key: config.dnsTsigKey,
    hook: config.dnsHook,
    zone: config.dnsZone,
    nameservers: config.dnsNameservers,
    propagationTimeoutMs: config.dnsPropagationTimeout,
  };
}
