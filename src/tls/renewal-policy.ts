import type { CertificateBundle, CertificateInfo } from "./certificate.ts";

/**
 * When a certificate should be renewed, as a window: the maintenance loop
 * (maintain.ts) renews at a random moment inside it, so replicas and whole
 * fleets do not all renew at once.
 *
 * Two policies: `lifetimeRatio` (a share of the lifetime) and, where the CA
 * offers ACME Renewal Information, `ariPolicy` (ari.ts: the CA's suggested
 * window, RFC 9773, falling back to the lifetime ratio). That is why
 * `window` may be asynchronous, and why a window says when to ask again.
 */
export interface RenewalPolicy {
  /**
   * The window in which to renew `certificate`, in epoch milliseconds. A
   * window that has begun means "due": the loop renews at once once its
   * random moment has passed.
   * @throws never for a certificate the server holds; a policy that asks the
   * network must fall back rather than fail.
   */
  window(certificate: CertificateBundle): RenewalWindow | Promise<RenewalWindow>;
}

export interface RenewalWindow {
  /** Epoch ms: renewing before this is early. */
  start: number;
  /** Epoch ms: renewing after this is late (`end >= start`). */
  end: number;
  /** Who chose it: the CA (`ari`) or a share of the lifetime (`lifetime`). */
  source: "ari" | "lifetime";
  /** Epoch ms: when the window may have changed and should be asked for again (ARI's Retry-After); none: it never changes. */
  recheckAt?: number;
  /** A page where the CA explains the window (ARI's explanationURL), for the operator. */
  explanationUrl?: string;
}

/**
 * Renew once less than `ratio` of the lifetime is left, within a window of
 * 5% of the lifetime (an hour at most) from then.
 *
 * @example
 * const policy = lifetimeRatio(1 / 3); // a 90-day certificate: renewed from day 60
 */
export function lifetimeRatio(ratio: number): RenewalPolicy {
  return {
    window({ info }) {
      const start = renewalDue(info, ratio).getTime();
      const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
      return { start, end: start + Math.min(3_600_000, lifetime * 0.05), source: "lifetime" };
    },
  };
}

/**
 * When renewal is due: once less than `ratio` of the lifetime is left (a
 * third by default, which suits 90-day and 6-day certificates alike).
 */
export function renewalDue(info: Pick<CertificateInfo, "notBefore" | "notAfter">, ratio: number): Date {
  const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
  return new Date(info.notAfter.getTime() - lifetime * ratio);
}
