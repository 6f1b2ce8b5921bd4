import type { Logger } from "../log/index.ts";
import type { Lock, Locker } from "../storage/storage.ts";
import type { StepObserver } from "./acme-order.ts";
import { certificateKeys, type CertificateStore } from "./bundle.ts";
import type { CertificateBundle } from "./certificate.ts";
import type { Clock } from "./clock.ts";

/** What the maintenance loop asks of an issuer. */
export interface IssueRequest {
  /** The certificate served right now, if any (then this is a renewal). */
  current(): CertificateBundle | undefined;
  /** Whether a certificate is due for renewal: one in storage that is not needs no order. */
  isDue(bundle: CertificateBundle): Promise<boolean>;
}

export interface Issued {
  bundle: CertificateBundle;
  /** `storage`: another process (or an earlier run) stored it; `order`: the CA issued it just now, and it is stored. */
  from: "storage" | "order";
  /** Whether a certificate was being served when the order was placed. */
  renewal: boolean;
}

/** Gets the certificate to serve next, from storage or from the CA. */
export interface Issuer {
  /**
   * A usable certificate that is not due: the one in storage if another
   * process stored one meanwhile, otherwise a new one, stored before it is
   * returned. Only one process sharing the storage orders at a time.
   * @throws AcmeError from the CA; the storage's error when storing failed
   * (the certificate is then kept, and the next call stores it instead of
   * ordering again); an Error when the lock was lost while ordering, or the
   * issuer was stopped while waiting for it.
   */
  issue(request: IssueRequest): Promise<Issued>;
  /** Releases the lock if an `issue` holds it; an abandoned order is simply redone. */
  stop(): Promise<void>;
}

export interface IssuerOptions {
  store: Pick<CertificateStore, "loadUsable" | "isUsable" | "store">;
  locker: Locker;
  domains: readonly string[];
  /** The CA's directory, for the log. */
  directoryUrl: string;
  /** Places an ACME order (`orderCertificate`, with its solvers): the only step that asks the CA. `replacing` is the certificate served, for a renewal. */
  order: (replacing?: CertificateBundle) => Promise<CertificateBundle>;
  clock: Clock;
  logger: Logger;
  /** Lease of the issuance lock; renewed while the order runs (default 120 s). */
  lockTtlMs?: number;
  /** Around each order: lets the port-80 responder run only while it is needed. */
  onOrder?: (phase: "start" | "end") => void;
  /** Told `stored` once a new certificate is in storage. */
  onStep?: StepObserver;
}

/**
 * The issuer the server uses: orders under the storage's issuance lock, and
 * whoever gets the lock second finds the fresh certificate in storage
 * instead of ordering another (Let's Encrypt allows 5 duplicates a week).
 *
 * @example
 * const issuer = new CertificateIssuer({ store, locker: storage, domains, directoryUrl, clock: systemClock, logger,
 *   order: () => orderCertificate({ ...acme, domains, storage, solvers: [http01Solver({ storage, port: 80, logger })], logger }) });
 */
export class CertificateIssuer implements Issuer {
  readonly #options: IssuerOptions;
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

  constructor(options: IssuerOptions) {
    this.#options = options;
  }

  async issue(request: IssueRequest): Promise<Issued> {
    const { store, clock, logger: log } = this.#options;
    const lock = await this.#takeLock();
    const ttl = this.#options.lockTtlMs ?? 120_000;
    const stopLease = clock.every(Math.max(1_000, ttl / 3), () => void lock.renew().catch((error) => log.warn("could not renew the issuance lock", { error })));
    try {
      const fresh = await store.loadUsable("lock");
      if (fresh && !(await request.isDue(fresh))) {
        this.#unstored = undefined;
        log.info("certificate in storage is current; no order needed", { names: fresh.info.names.join(",") });
        return { bundle: fresh, from: "storage", renewal: request.current() !== undefined };
      }
      const renewal = request.current() !== undefined;
      const bundle = await this.#issuedOrOrdered(request, renewal);
      if (!(await lock.renew())) throw new Error("lost the issuance lock while ordering; not storing the certificate");
      try {
        await store.store(bundle);
      } catch (error) {
        this.#unstored = bundle;
        throw error;
      }
      this.#unstored = undefined;
      log.info("certificate stored", { names: bundle.info.names.join(","), notAfter: bundle.info.notAfter.toISOString() });
      await this.#options.onStep?.("stored");
      return { bundle, from: "order", renewal };
    } finally {
      stopLease();
      // `#lock` is cleared only once released, so that a stop() meanwhile
      // waits for this release instead of letting the process exit half-way
      // through it (which left the lock's claim file behind).
      await lock.release().catch(() => {});
      this.#lock = undefined;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#lock?.release().catch(() => {});
  }

  /** Waits for the issuance lock: someone else holding it is ordering, and we would rather read what they store. */
  async #takeLock(): Promise<Lock> {
    const { locker, domains, clock, logger } = this.#options;
    const name = certificateKeys.issuanceLock(domains[0]!);
    const ttl = this.#options.lockTtlMs ?? 120_000;
    for (let attempt = 0; ; attempt++) {
      const lock = await locker.tryLock(name, ttl);
      if (lock) return (this.#lock = lock);
      if (this.#stopped) throw new Error("stopped");
      if (attempt === 0) logger.info("waiting for the issuance lock; another process is ordering", { lock: name });
      await clock.sleep(1_000);
    }
  }

  /** The certificate storage refused last time, while it is still good; otherwise a new order. */
  async #issuedOrOrdered(request: IssueRequest, renewal: boolean): Promise<CertificateBundle> {
    const { store, domains, directoryUrl, logger } = this.#options;
    const unstored = this.#unstored;
    if (unstored && store.isUsable(unstored) && !(await request.isDue(unstored))) {
      logger.info("storing the certificate issued earlier, which storage refused then; no new order", { names: unstored.info.names.join(","), notAfter: unstored.info.notAfter.toISOString() });
      return unstored;
    }
    this.#unstored = undefined;
    logger.info(renewal ? "renewing certificate" : "obtaining certificate", { names: domains.join(","), directory: directoryUrl });
    this.#options.onOrder?.("start");
    return await this.#options.order(request.current()).finally(() => this.#options.onOrder?.("end"));
  }
}
