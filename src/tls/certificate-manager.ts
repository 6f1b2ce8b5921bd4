import type { Logger } from "../log/index.ts";
import type { Lock, Storage } from "../storage/storage.ts";
import { AcmeError } from "./acme-http.ts";
import { orderCertificate, type OrderSettings } from "./acme-order.ts";
import { inspectCertificate, renewalDue, unusableReason, type CertificateBundle, type CertificateMeta } from "./certificate.ts";

export interface ManagerOptions {
  order: Omit<OrderSettings, "logger">;
  /** Renew when less than this fraction of the lifetime is left. */
  renewRatio: number;
  logger: Logger;
  /** Called with every new certificate to serve (first one and renewals). */
  onCertificate: (bundle: CertificateBundle) => void | Promise<void>;
  /** Around each order: lets the port-80 responder run only while it is needed. */
  onOrder?: (phase: "start" | "end") => void;
  /** First retry delay after a failure; doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Lease of the issuance lock; renewed while the order runs. */
  lockTtlMs?: number;
  /** How often to look for a certificate another process stored (shared storage). */
  storagePollMs?: number;
  /** For tests: the clock and the randomness of the jitter. */
  now?: () => number;
  random?: () => number;
}

/** Certificate state for `/healthz`, metrics and the status page. */
export interface CertificateStatus {
  ready: boolean;
  names?: string[];
  issuer?: string;
  notAfter?: string;
  nextRenewalAt?: string;
  lastError?: string;
  renewals: number;
  failures: number;
}

/**
 * Keeps a usable certificate for the configured domains, in the manner of
 * certmagic's maintenance loop: reuse what storage holds when it is usable,
 * order one when not, renew in the background once less than `renewRatio`
 * of its lifetime is left (with jitter, so replicas do not all wake at once),
 * and on failure keep serving the current one and retry with capped
 * exponential backoff that honours the CA's `Retry-After`.
 *
 * Only one process orders at a time: the work runs under a storage lock, and
 * whoever gets the lock second finds the fresh certificate in storage
 * instead of ordering another (Let's Encrypt allows 5 duplicates a week).
 */
export class CertificateManager {
  #current: CertificateBundle | undefined;
  #timer: Timer | undefined;
  #nextRenewalAt: Date | undefined;
  #lastError: string | undefined;
  #renewals = 0;
  #failures = 0;
  #consecutiveFailures = 0;
  #stopped = false;
  #lock: Lock | undefined;
  /**
   * A certificate the CA issued but storage refused (disk full, storage
   * down). The next attempt stores this one, while it is fresh, instead of
   * ordering again: every order is a new certificate, and Let's Encrypt
   * allows 5 duplicates a week, so re-ordering on each retry of a storage
   * failure used up that limit within half an hour and could then block
   * renewal for days (longer than a short-lived certificate lasts). It is
   * not served before it is stored: a restart must never fall back to an
   * older certificate than the one served.
   */
  #unstored: CertificateBundle | undefined;
  #readyWaiters: ((bundle: CertificateBundle) => void)[] = [];
  readonly #log: Logger;
  readonly #bundleName: string;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(private readonly options: ManagerOptions) {
    this.#log = options.logger;
    this.#bundleName = options.order.domains[0]!;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  get current(): CertificateBundle | undefined {
    return this.#current;
  }

  status(): CertificateStatus {
    const info = this.#current?.info;
    return {
      ready: this.#current !== undefined,
      names: info?.names,
      issuer: info?.issuer,
      notAfter: info?.notAfter.toISOString(),
      nextRenewalAt: this.#nextRenewalAt?.toISOString(),
      lastError: this.#lastError,
      renewals: this.#renewals,
      failures: this.#failures,
    };
  }

  /**
   * Loads a usable certificate from storage, if there is one, and starts the
   * maintenance loop. Never throws for CA or storage trouble: the loop
   * retries, and `ready()` resolves once a certificate is held.
   */
  async start(): Promise<void> {
    const stored = await this.#loadUsable("start");
    if (stored) await this.#install(stored, "storage");
    this.#schedule(stored ? this.#renewalTime(stored) : this.#now());
  }

  /** Resolves with the first certificate held. */
  ready(): Promise<CertificateBundle> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Re-reads storage now (SIGHUP, or another replica's renewal): swaps in a newer usable certificate. */
  async reload(): Promise<boolean> {
    const stored = await this.#loadUsable("reload");
    if (!stored || stored.info.serialNumber === this.#current?.info.serialNumber) return false;
    await this.#install(stored, "storage");
    this.#schedule(this.#renewalTime(stored));
    return true;
  }

  /** Stops the loop and releases the issuance lock if an order holds it (an abandoned order is simply redone). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#lock?.release().catch(() => {});
  }

  /** When to renew `bundle`: the due time, plus jitter of up to 5% of its lifetime (an hour at most). */
  #renewalTime(bundle: CertificateBundle): number {
    const due = renewalDue(bundle.info, this.options.renewRatio).getTime();
    const lifetime = bundle.info.notAfter.getTime() - bundle.info.notBefore.getTime();
    return due + this.#random() * Math.min(3_600_000, lifetime * 0.05);
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    at = Math.round(at);
    clearTimeout(this.#timer);
    // Wake at the renewal time, but also now and then to adopt a certificate
    // another process stored; setTimeout cannot wait longer than ~24 days.
    const poll = this.options.storagePollMs ?? 10 * 60_000;
    const delay = Math.max(0, Math.min(at - this.#now(), poll, 2 ** 31 - 1));
    this.#nextRenewalAt = new Date(at);
    this.#timer = setTimeout(() => void this.#wake(at), delay);
  }

  async #wake(renewAt: number): Promise<void> {
    if (this.#stopped) return;
    // Timers may fire a little early; only a wake well before the renewal time is a poll.
    if (renewAt - this.#now() > 50) {
      // A poll: has another process renewed meanwhile?
      await this.reload().catch((error) => this.#log.warn("could not read certificate storage", { error }));
      if (this.#nextRenewalAt?.getTime() === renewAt) this.#schedule(renewAt);
      return;
    }
    try {
      const bundle = await this.#obtain();
      this.#consecutiveFailures = 0;
      this.#lastError = undefined;
      this.#schedule(this.#renewalTime(bundle));
    } catch (error) {
      this.#failures++;
      this.#consecutiveFailures++;
      const problem = error instanceof AcmeError ? error.problem : undefined;
      this.#lastError = (error as Error).message;
      const min = this.options.retryMinMs ?? 60_000;
      const max = this.options.retryMaxMs ?? 3_600_000;
      let delay = Math.min(max, min * 2 ** (this.#consecutiveFailures - 1));
      // Jitter, so that replicas which failed together do not retry together.
      delay *= 0.9 + this.#random() * 0.2;
      // The CA's Retry-After (rate limits, maintenance) wins over our guess,
      // and is a minimum: the jitter used to be applied after it, so a retry
      // could come up to 10% before the time the CA asked for.
      if (problem?.retryAfterMs !== undefined) delay = Math.max(delay, problem.retryAfterMs);
      this.#log.error(this.#current ? "certificate renewal failed; still serving the current certificate" : "could not get a certificate; will retry", {
        reason: this.#lastError,
        problem: problem?.type,
        status: problem?.status,
        retryInSeconds: Math.round(delay / 1000),
        hint: this.#current ? undefined : hintFor(error),
      });
      this.#schedule(this.#now() + delay);
    }
  }

  /** Orders a certificate under the lock, unless storage turns out to hold a fresh one. */
  async #obtain(): Promise<CertificateBundle> {
    const lockName = `certificate-${this.#bundleName}`;
    const ttl = this.options.lockTtlMs ?? 120_000;
    let lock: Lock | undefined;
    for (let attempt = 0; ; attempt++) {
      lock = await this.options.order.storage.tryLock(lockName, ttl);
      if (lock) break;
      if (this.#stopped) throw new Error("stopped");
      // Someone else is ordering: wait for them rather than order twice.
      if (attempt === 0) this.#log.info("waiting for the issuance lock; another process is ordering", { lock: lockName });
      await Bun.sleep(1_000);
    }
    this.#lock = lock;
    const lease = setInterval(() => void lock!.renew().catch((error) => this.#log.warn("could not renew the issuance lock", { error })), Math.max(1_000, ttl / 3));
    try {
      const fresh = await this.#loadUsable("lock");
      if (fresh && this.#renewalTime(fresh) > this.#now()) {
        this.#unstored = undefined;
        this.#log.info("certificate in storage is current; no order needed", { names: fresh.info.names.join(",") });
        if (fresh.info.serialNumber !== this.#current?.info.serialNumber) await this.#install(fresh, "storage");
        return fresh;
      }
      const renewing = this.#current !== undefined;
      let bundle: CertificateBundle;
      const unstored = this.#unstored;
      if (unstored && this.#isUsable(unstored) && this.#renewalTime(unstored) > this.#now()) {
        this.#log.info("storing the certificate issued earlier, which storage refused then; no new order", { names: unstored.info.names.join(","), notAfter: unstored.info.notAfter.toISOString() });
        bundle = unstored;
      } else {
        this.#unstored = undefined;
        this.#log.info(renewing ? "renewing certificate" : "obtaining certificate", { names: this.options.order.domains.join(","), directory: this.options.order.directoryUrl });
        this.options.onOrder?.("start");
        bundle = await orderCertificate({ ...this.options.order, logger: this.#log }).finally(() => this.options.onOrder?.("end"));
      }
      if (!(await lock.renew())) throw new Error("lost the issuance lock while ordering; not storing the certificate");
      const storage = this.options.order.storage;
      try {
        await storage.storeBundle(this.#bundleName, {
          "cert.pem": { data: bundle.certPem },
          "key.pem": { data: bundle.keyPem, secret: true },
          "meta.json": { data: JSON.stringify(bundle.meta, null, 2) },
        });
      } catch (error) {
        this.#unstored = bundle;
        // Say what failed: a bare "ENOSPC: no space left on device" does not tell the operator where.
        const cause = error as NodeJS.ErrnoException;
        throw Object.assign(new Error(`could not store the new certificate in ${storage.description}: ${cause?.message ?? String(error)}`, { cause }), { code: cause?.code });
      }
      this.#unstored = undefined;
      this.#log.info("certificate stored", { names: bundle.info.names.join(","), notAfter: bundle.info.notAfter.toISOString() });
      await this.options.order.onStep?.("stored");
      if (renewing) this.#renewals++;
      await this.#install(bundle, "order");
      return bundle;
    } finally {
      clearInterval(lease);
      // `#lock` is cleared only once released, so that a stop() meanwhile
      // waits for this release instead of letting the process exit half-way
      // through it (which left the lock's claim file behind).
      await lock.release().catch(() => {});
      this.#lock = undefined;
    }
  }

  async #install(bundle: CertificateBundle, from: "storage" | "order"): Promise<void> {
    const first = this.#current === undefined;
    // `current` changes only once the certificate is served: if serving it
    // fails, /healthz must not report it, and the next attempt (which finds
    // it in storage, with a serial different from `current`) tries again.
    await this.options.onCertificate(bundle);
    this.#current = bundle;
    this.#log.info(first ? "serving certificate" : "certificate swapped in", {
      from,
      names: bundle.info.names.join(","),
      issuer: bundle.info.issuer,
      notAfter: bundle.info.notAfter.toISOString(),
    });
    for (const resolve of this.#readyWaiters.splice(0)) resolve(bundle);
  }

  /** Whether `bundle` may be served now (names, CA, validity); the same rule as for stored certificates. */
  #isUsable(bundle: CertificateBundle): boolean {
    return unusableReason(bundle, this.options.order.domains, this.options.order.directoryUrl, new Date(this.#now())) === undefined;
  }

  /** The stored certificate if it may be served; logs why not otherwise. */
  async #loadUsable(when: string): Promise<CertificateBundle | undefined> {
    const files = await this.options.order.storage.loadBundle(this.#bundleName);
    if (!files) return undefined;
    try {
      const certPem = files["cert.pem"] ?? "";
      const keyPem = files["key.pem"] ?? "";
      const info = inspectCertificate(certPem, keyPem);
      const meta = JSON.parse(files["meta.json"] ?? "{}") as CertificateMeta;
      const bundle = { certPem, keyPem, info, meta };
      const reason = unusableReason(bundle, this.options.order.domains, this.options.order.directoryUrl, new Date(this.#now()));
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

  // Said once, at start; the later checks (under the lock, on polls) would
  // only repeat it.
  #notUsable(reason: string, when: string): void {
    if (when === "start") this.#log.warn("stored certificate is not usable; a new one will be ordered", { reason });
    else this.#log.debug("stored certificate is not usable", { reason, when });
  }
}

/** One line telling the operator what to check, from what the CA or the network said. */
function hintFor(error: unknown): string {
  const type = error instanceof AcmeError ? error.type : undefined;
  const message = (error as Error)?.message ?? "";
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && ["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO"].includes(code))
    return "certificate storage failed (disk full, read-only, permissions or an I/O error): fix it; a certificate already issued is stored on the next retry, without a new order";
  if (type === "rateLimited") return "the CA's rate limit was hit; it will retry after the time the CA gave";
  if (type === "connection" || type === "dns" || type === "unauthorized" || type === "incorrectResponse")
    return "the CA could not fetch the challenge: check that the domain's DNS points at this machine and that port 80 is open to the internet";
  // A CA that accepted the connection but did not answer is not a wrong directory URL.
  if (code === "ECONNABORTED" || /^no answer from the CA within the timeout/.test(message))
    return "the CA did not answer in time: it may be down or overloaded (check its status page); retrying with backoff";
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timeout|certificate/i.test(message))
    return "the ACME directory could not be reached: check MCP_ACME_DIRECTORY, outbound HTTPS, and (for a private CA) NODE_EXTRA_CA_CERTS";
  return "see the reason above";
}
