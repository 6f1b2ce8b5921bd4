import type { CertificateBundle, CertificateInfo } from "./certificate.ts";

/**
 * When a certificate should be renewed, as a window: the maintenance loop
 * (maintain.ts) renews at a random moment inside it, so replicas and whole
 * fleets do not all renew at once.
 *
 * This is the seam for ACME Renewal Information (ARI, RFC 9773): a policy
 * that asks the CA for its suggested window (and falls back to the lifetime
 * ratio when the CA has none) replaces `lifetimeRatio` without touching the
 * loop. That is also why `window` may be asynchronous.
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
      return { start, end: start + Math.min(3_600_000, lifetime * 0.05) };
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
