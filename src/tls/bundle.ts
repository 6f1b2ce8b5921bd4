import type { Logger } from "../log/index.ts";
import type { BundleFile, Storage } from "../storage/storage.ts";
import { inspectCertificate, unusableReason, type CertificateBundle, type CertificateMeta } from "./certificate.ts";
import type { Clock } from "./clock.ts";
import { directoryId } from "./directory.ts";

/**
 * Every name the certificate machinery uses in storage, and the format of
 * the certificate bundle: spelled here and nowhere else. Existing
 * deployments depend on them, so they do not change. On the filesystem
 * (`MCP_CERTS_DIR`) they are:
 * - `<primary domain>.cert.pem`, `.key.pem`, `.meta.json`: the certificate
 *   bundle (links into `<primary domain>.d/`, see file-bundle.ts);
 * - `locks/certificate-<primary domain>.lock`: the issuance lock;
 * - `acme/<directory id>/account.key.pem` and `account.json`: the ACME
 *   account, one per CA directory;
 * - `challenges/<token>`: HTTP-01 key authorizations while an order runs.
 *
 * In Redis the same names sit under `<namespace>:bundle:`, `:lock:` and `:kv:`.
 */
export const certificateKeys = {
  /** The bundle of the certificate for a set of domains, named after the first (primary) one. */
  bundle: (primary: string) => primary,
  /** One order at a time among the processes sharing storage. */
  issuanceLock: (primary: string) => `certificate-${primary}`,
  /** The ACME account key for a CA: stored before the account is registered. */
  accountKey: (directoryUrl: string) => `acme/${directoryId(directoryUrl)}/account.key.pem`,
  /** The ACME account's URL and contact, as the CA knows it. */
  account: (directoryUrl: string) => `acme/${directoryId(directoryUrl)}/account.json`,
  /** An HTTP-01 key authorization: any process sharing storage can answer the CA. */
  challenge: (token: string) => `challenges/${token}`,
} as const;

const CERT_FILE = "cert.pem";
const KEY_FILE = "key.pem";
const META_FILE = "meta.json";

/** The files of a certificate bundle: the chain, its key (secret) and the facts recorded beside them. */
function encodeBundle(bundle: CertificateBundle): Record<string, BundleFile> {
  return {
    [CERT_FILE]: { data: bundle.certPem },
    [KEY_FILE]: { data: bundle.keyPem, secret: true },
    [META_FILE]: { data: JSON.stringify(bundle.meta, null, 2) },
  };
}

/**
 * A certificate bundle from its files, checked as it will be served.
 * @throws Error with a one-line reason: no certificate, a key that does not
 * parse or does not belong to it, metadata that is not JSON.
 */
function decodeBundle(files: Record<string, string>): CertificateBundle {
  const certPem = files[CERT_FILE] ?? "";
  const keyPem = files[KEY_FILE] ?? "";
  const info = inspectCertificate(certPem, keyPem);
  const meta = JSON.parse(files[META_FILE] ?? "{}") as CertificateMeta;
  return { certPem, keyPem, info, meta };
}

/**
 * Why a stored certificate is being read. At start, and on a reload someone
 * asked for (SIGHUP, another replica's announcement), a reason not to use it
 * is worth a warning; on a routine poll or under the issuance lock, a debug
 * line (a poll would repeat the warning every few seconds).
 */
export type LoadOccasion = "start" | "reload" | "poll" | "lock";

export interface CertificateStoreOptions {
  storage: Storage;
  /** The configured domains; the first names the bundle. */
  domains: readonly string[];
  /** The configured CA: a certificate from another one is not used. */
  directoryUrl: string;
  clock: Clock;
  logger: Logger;
}

/**
 * The certificate for the configured domains as storage holds it: loaded
 * only when it may be served (it parses, matches its key, covers every
 * domain, comes from the configured CA and is valid now), stored in one
 * step.
 */
export class CertificateStore {
  readonly #options: CertificateStoreOptions;
  readonly #bundle: string;

  constructor(options: CertificateStoreOptions) {
    this.#options = options;
    this.#bundle = certificateKeys.bundle(options.domains[0]!);
  }

  /**
   * The stored certificate if it may be served now; `undefined` when there
   * is none or it may not, and then the log says why.
   * @throws when storage cannot be read (the caller keeps what it serves).
   */
  async loadUsable(when: LoadOccasion): Promise<CertificateBundle | undefined> {
    const files = await this.#options.storage.loadBundle(this.#bundle);
    if (!files) return undefined;
    try {
      const bundle = decodeBundle(files);
      const reason = this.#unusableReason(bundle);
      if (reason) {
        this.#notUsable(reason, when);
        return undefined;
      }
      return bundle;
    } catch (error) {
      this.#notUsable((error as Error).message, when);
      return undefined;
    }
  }

  /** Whether `bundle` may be served now: the same rule as for stored certificates. */
  isUsable(bundle: CertificateBundle): boolean {
    return this.#unusableReason(bundle) === undefined;
  }

  /**
   * Replaces the stored certificate in one step.
   * @throws Error saying what failed and where (a bare "ENOSPC: no space
   * left on device" does not tell the operator), with the cause's `code`.
   */
  async store(bundle: CertificateBundle): Promise<void> {
    const { storage } = this.#options;
    try {
      await storage.storeBundle(this.#bundle, encodeBundle(bundle));
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      throw Object.assign(new Error(`could not store the new certificate in ${storage.description}: ${cause?.message ?? String(error)}`, { cause }), { code: cause?.code });
    }
  }

  #unusableReason(bundle: CertificateBundle): string | undefined {
    const { domains, directoryUrl, clock } = this.#options;
    return unusableReason(bundle, domains, directoryUrl, new Date(clock.now()));
  }

  // Said once, at start; the later checks (under the lock, on polls) would
  // only repeat it.
  #notUsable(reason: string, when: LoadOccasion): void {
    if (when === "start") this.#options.logger.warn("stored certificate is not usable; a new one will be ordered", { reason });
    else if (when === "reload") this.#options.logger.warn("stored certificate is not usable; the one in service is kept", { reason });
    else this.#options.logger.debug("stored certificate is not usable", { reason, when });
  }
}
