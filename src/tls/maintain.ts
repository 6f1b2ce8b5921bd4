import type { Logger } from "../log/index.ts";
import { AcmeError } from "./acme-client.ts";
import type { CertificateStore } from "./bundle.ts";
import type { CertificateBundle } from "./certificate.ts";
import type { Clock } from "./clock.ts";
import { operatorHint } from "./hints.ts";
import type { Issuer } from "./issuer.ts";
import type { RenewalPolicy, RenewalWindow } from "./renewal-policy.ts";

/** Certificate state for `/healthz`, metrics and the status page. */
export interface CertificateStatus {
  ready: boolean;
  names?: string[];
  issuer?: string;
  notAfter?: string;
  nextRenewalAt?: string;
  /** The window the renewal falls in, and who chose it: the CA (`ari`) or the lifetime ratio (`lifetime`). */
  renewalWindow?: { start: string; end: string; source: RenewalWindow["source"]; explanationUrl?: string };
  lastError?: string;
  renewals: number;
  failures: number;
}

export interface MaintainerOptions {
  /** Where a usable certificate may already be (at start, on polls, on `reload`). */
  store: Pick<CertificateStore, "loadUsable">;
  issuer: Issuer;
  /** When a certificate is due: its window; the loop picks a random moment in it. */
  policy: RenewalPolicy;
  clock: Clock;
  /** In [0, 1): the jitter of renewal times and retries. */
  random: () => number;
  logger: Logger;
  /** Called with every new certificate to serve (first one and renewals); a throw is a failed attempt, retried. */
  onCertificate: (bundle: CertificateBundle) => void | Promise<void>;
  /** First retry delay after a failure; doubles up to `retryMaxMs` (default 60 s up to 1 h). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How often to look for a certificate another process stored (default 10 min). */
  storagePollMs?: number;
}

/** Timers cannot wait longer than about 24 days: longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Timers may fire a little early; only a wake well before the renewal time is a poll. */
const EARLY_WAKE_MS = 50;
/** A failure this close to expiry (a sixth of the lifetime at most: a 6-day certificate's last day) is urgent. */
const URGENT_MS = 24 * 3_600_000;

/** When the certificate in service is to be renewed: its window and the moment picked in it. */
interface Plan {
  serial: string;
  window: RenewalWindow;
  at: number;
}

/**
 * Keeps a usable certificate for the configured domains, in the manner of
 * certmagic's maintenance loop: this is where renewal is decided. It serves
 * what storage holds when that is usable, has the issuer get one when not,
 * renews in the background at a random moment of the policy's window (so
 * replicas do not all wake at once), and on failure keeps serving the
 * current certificate and retries with capped exponential backoff (with
 * jitter) that never comes before the CA's `Retry-After`. Between renewals
 * it polls storage now and then, to adopt a certificate another process
 * stored.
 *
 * @example
 * const maintainer = new CertificateMaintainer({ store, issuer, policy: lifetimeRatio(1 / 3), clock: systemClock,
 *   random: Math.random, logger, onCertificate: (bundle) => listener.serve(bundle.certPem, bundle.keyPem) });
 * await maintainer.start();
 */
export class CertificateMaintainer {
  readonly #options: MaintainerOptions;
  readonly #log: Logger;
  #current: CertificateBundle | undefined;
  #cancelTimer: (() => void) | undefined;
  #nextRenewalAt: Date | undefined;
  #plan: Plan | undefined;
  #lastError: string | undefined;
  #renewals = 0;
  #failures = 0;
  #consecutiveFailures = 0;
  #stopped = false;
  #readyWaiters: ((bundle: CertificateBundle) => void)[] = [];

  constructor(options: MaintainerOptions) {
    this.#options = options;
    this.#log = options.logger;
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
      renewalWindow: this.#windowStatus(),
      lastError: this.#lastError,
      renewals: this.#renewals,
      failures: this.#failures,
    };
  }

  /**
   * Serves a usable certificate from storage, if there is one, and starts
   * the loop. Never throws for CA trouble: the loop retries, and `ready()`
   * resolves once a certificate is held.
   * @throws when storage cannot be read at start.
   */
  async start(): Promise<void> {
    const stored = await this.#options.store.loadUsable("start");
    if (stored) await this.#install(stored, "storage");
    if (stored) await this.#replan(stored);
    else this.#schedule(this.#options.clock.now());
  }

  /** Resolves with the first certificate held. */
  ready(): Promise<CertificateBundle> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /**
   * Re-reads storage now (SIGHUP, another replica's renewal, or a poll):
   * swaps in a newer usable certificate.
   */
  async reload(when: "reload" | "poll" = "reload"): Promise<boolean> {
    const stored = await this.#options.store.loadUsable(when);
    if (!stored || stored.info.serialNumber === this.#current?.info.serialNumber) return false;
    await this.#install(stored, "storage");
    await this.#replan(stored);
    return true;
  }

  /** Stops the loop, and the issuer with it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    await this.#options.issuer.stop();
  }

  /**
   * When to renew `bundle`: a random moment of its renewal window. The
   * moment picked for the certificate in service is kept while it stays
   * inside the window: a re-check (ARI's Retry-After) that confirms the
   * window must not roll the dice again, while one that moved it, earlier
   * for a revocation, say, gets a new moment, in the past meaning now.
   */
  async #planFor(bundle: CertificateBundle): Promise<Plan> {
    const window = await this.#options.policy.window(bundle);
    const serial = bundle.info.serialNumber;
    const previous = this.#plan?.serial === serial ? this.#plan : undefined;
    if (previous && previous.at >= window.start && previous.at <= window.end) return { serial, window, at: previous.at };
    const at = window.start + this.#options.random() * (window.end - window.start);
    if (previous && window.end < previous.at) {
      const now = this.#options.clock.now();
      this.#log.warn(at <= now ? "the CA moved the renewal window into the past; renewing now" : "the CA moved the renewal window earlier", {
        source: window.source,
        start: new Date(window.start).toISOString(),
        end: new Date(window.end).toISOString(),
        explanation: window.explanationUrl,
      });
    }
    return { serial, window, at };
  }

  /** Plans the renewal of the certificate in service and schedules it. */
  async #replan(bundle: CertificateBundle): Promise<void> {
    const plan = await this.#planFor(bundle);
    if (bundle.info.serialNumber !== this.#current?.info.serialNumber) return; // another certificate came in meanwhile: its own plan wins
    this.#plan = plan;
    this.#schedule(plan.at, plan.window.recheckAt);
  }

  #windowStatus(): CertificateStatus["renewalWindow"] {
    const plan = this.#plan;
    if (!plan || plan.serial !== this.#current?.info.serialNumber) return undefined;
    const { start, end, source, explanationUrl } = plan.window;
    return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), source, ...(explanationUrl ? { explanationUrl } : {}) };
  }

  /** Wakes at `at` to renew, earlier to poll storage, and at `recheckAt` to ask the policy again. */
  #schedule(at: number, recheckAt?: number): void {
    if (this.#stopped) return;
    at = Math.round(at);
    this.#cancelTimer?.();
    const now = this.#options.clock.now();
    // Wake at the renewal time, but also now and then to adopt a certificate another process stored.
    const poll = this.#options.storagePollMs ?? 10 * 60_000;
    const recheck = recheckAt === undefined ? Infinity : recheckAt - now;
    const delay = Math.max(0, Math.min(at - now, poll, recheck, MAX_TIMER_MS));
    this.#nextRenewalAt = new Date(at);
    this.#cancelTimer = this.#options.clock.after(delay, () => void this.#wake(at, recheckAt));
  }

  async #wake(renewAt: number, recheckAt: number | undefined): Promise<void> {
    if (this.#stopped) return;
    const now = this.#options.clock.now();
    if (renewAt - now > EARLY_WAKE_MS) {
      // A poll: has another process renewed meanwhile?
      await this.reload("poll").catch((error) => this.#log.warn("could not read certificate storage", { error }));
      if (this.#nextRenewalAt?.getTime() !== renewAt) return; // reload swapped and rescheduled
      const current = this.#current;
      // A re-check: has the CA moved the window?
      if (current && recheckAt !== undefined && recheckAt - now <= EARLY_WAKE_MS) await this.#replan(current);
      else this.#schedule(renewAt, recheckAt);
      return;
    }
    try {
      const issued = await this.#options.issuer.issue({
        current: () => this.#current,
        isDue: async (bundle) => (await this.#planFor(bundle)).at <= this.#options.clock.now(),
      });
      if (issued.from === "order" && issued.renewal) this.#renewals++;
      if (issued.bundle.info.serialNumber !== this.#current?.info.serialNumber) await this.#install(issued.bundle, issued.from);
      this.#consecutiveFailures = 0;
      this.#lastError = undefined;
      await this.#replan(issued.bundle);
    } catch (error) {
      this.#failed(error);
    }
  }

  /** Logs the failure and schedules the retry. */
  #failed(error: unknown): void {
    this.#failures++;
    this.#consecutiveFailures++;
    const problem = error instanceof AcmeError ? error.problem : undefined;
    this.#lastError = (error as Error).message;
    const delay = this.#retryDelay(problem?.retryAfterMs);
    const expiresInMs = this.#current ? this.#current.info.notAfter.getTime() - this.#options.clock.now() : undefined;
    const urgent = expiresInMs !== undefined && expiresInMs < this.#urgentMs(this.#current!);
    const message = urgent
      ? "URGENT: certificate renewal failed and the certificate expires soon; still serving it"
      : this.#current
        ? "certificate renewal failed; still serving the current certificate"
        : "could not get a certificate; will retry";
    this.#log.error(message, {
      ...(urgent ? { urgent: true, expiresInSeconds: Math.round(expiresInMs! / 1000) } : {}),
      reason: this.#lastError,
      problem: problem?.type,
      status: problem?.status,
      retryInSeconds: Math.round(delay / 1000),
      hint: this.#current ? undefined : operatorHint(error),
    });
    this.#schedule(this.#options.clock.now() + delay);
  }

  /** How close to expiry a failure is urgent: the last day, or the last sixth of a shorter lifetime. */
  #urgentMs({ info }: CertificateBundle): number {
    return Math.min(URGENT_MS, (info.notAfter.getTime() - info.notBefore.getTime()) / 6);
  }

  /** Capped exponential backoff with jitter; the CA's `Retry-After` is a floor. */
  #retryDelay(retryAfterMs: number | undefined): number {
    const min = this.#options.retryMinMs ?? 60_000;
    const max = this.#options.retryMaxMs ?? 3_600_000;
    let delay = Math.min(max, min * 2 ** (this.#consecutiveFailures - 1));
    // Jitter, so that replicas which failed together do not retry together.
    delay *= 0.9 + this.#options.random() * 0.2;
    // The CA's Retry-After (rate limits, maintenance) wins over our guess,
    // and is a minimum: the jitter used to be applied after it, so a retry
    // could come up to 10% before the time the CA asked for.
    if (retryAfterMs !== undefined) delay = Math.max(delay, retryAfterMs);
    return delay;
  }

  async #install(bundle: CertificateBundle, from: "storage" | "order"): Promise<void> {
    const first = this.#current === undefined;
    // `current` changes only once the certificate is served: if serving it
    // fails, /healthz must not report it, and the next attempt (which finds
    // it in storage, with a serial different from `current`) tries again.
    await this.#options.onCertificate(bundle);
    this.#current = bundle;
    this.#log.info(first ? "serving certificate" : "certificate swapped in", {
      from,
      names: bundle.info.names.join(","),
      issuer: bundle.info.issuer,
      notAfter: bundle.info.notAfter.toISOString(),
    });
    for (const resolve of this.#readyWaiters.splice(0)) resolve(bundle);
  }
}
