import type { Logger } from "../log/index.ts";
import { parseRetryAfter } from "./acme-client.ts";
import { certId } from "./cert-id.ts";
import type { CertificateBundle } from "./certificate.ts";
import type { Clock } from "./clock.ts";
import type { RenewalPolicy, RenewalWindow } from "./renewal-policy.ts";

export interface AriPolicyOptions {
  /** The CA's ACME directory: ARI is used when it has a `renewalInfo` URL. */
  directoryUrl: string;
  /** The window when the CA offers none, or cannot be asked right now (the lifetime ratio). */
  fallback: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** Bounds on the CA's Retry-After (RFC 9773 §4.3.2 asks clients to clamp it): default 1 minute to 1 day. */
  minRecheckMs?: number;
  maxRecheckMs?: number;
  /** When to ask again after the CA could not be asked (default 1 hour). */
  failureRecheckMs?: number;
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** What RFC 9773 §4.2 says a client should do without a Retry-After: ask again in six hours. */
const DEFAULT_RECHECK_MS = 6 * 3_600_000;
/** How long a directory without `renewalInfo` is believed before it is read again. */
const DIRECTORY_RECHECK_MS = 24 * 3_600_000;

/**
 * ACME Renewal Information (RFC 9773) as a renewal policy: the window the
 * CA suggests for each certificate, fetched from
 * `<renewalInfo>/<CertID>` (cert-id.ts), kept until the CA's Retry-After
 * (clamped), and then asked for again, so that a window the CA moves (for
 * a revocation, say) is seen. The maintenance loop renews at a random
 * moment of it, as §4.2 asks, and at once when it lies in the past.
 *
 * Without `renewalInfo` in the directory, or when the CA cannot be asked,
 * the fallback's window is used (and said so, by its `source`): a CA that
 * is down must never stop a renewal the lifetime says is due.
 *
 * @example
 * const policy = ariPolicy({ directoryUrl, fallback: lifetimeRatio(1 / 3), clock: systemClock, logger });
 */
export function ariPolicy(options: AriPolicyOptions): RenewalPolicy {
  const { clock, logger: log } = options;
  const get = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const minRecheck = options.minRecheckMs ?? 60_000;
  const maxRecheck = options.maxRecheckMs ?? 24 * 3_600_000;
  const failureRecheck = options.failureRecheckMs ?? 3_600_000;
  let directory: { renewalInfo?: string; readAt: number } | undefined;
  /** The last answer, for the certificate it is about. */
  let cached: { serial: string; window: RenewalWindow } | undefined;
  let lastProblem: string | undefined;

  const renewalInfoUrl = async (): Promise<string | undefined> => {
    if (directory && clock.now() - directory.readAt < DIRECTORY_RECHECK_MS) return directory.renewalInfo;
    const response = await get(options.directoryUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`GET ${options.directoryUrl}: HTTP ${response.status}`);
    const body = (await response.json()) as { renewalInfo?: unknown };
    directory = { renewalInfo: typeof body.renewalInfo === "string" ? body.renewalInfo : undefined, readAt: clock.now() };
    return directory.renewalInfo;
  };

  const fallback = async (bundle: CertificateBundle, recheckAt?: number): Promise<RenewalWindow> => ({ ...(await options.fallback.window(bundle)), recheckAt });

  return {
    async window(bundle) {
      const serial = bundle.info.serialNumber;
      if (cached?.serial === serial && (cached.window.recheckAt ?? Infinity) > clock.now()) return cached.window;
      let window: RenewalWindow;
      try {
        const base = await renewalInfoUrl();
        if (!base) return await fallback(bundle, clock.now() + DIRECTORY_RECHECK_MS);
        window = await ask(`${base.replace(/\/$/, "")}/${certId(bundle.certPem)}`, bundle);
        if (lastProblem) log.info("the CA's renewal window (ARI) is available again", { names: bundle.info.names.join(",") });
        lastProblem = undefined;
      } catch (error) {
        const reason = (error as Error).message;
        // Said once per kind of trouble: a CA that stays down must not fill the log.
        if (reason !== lastProblem) log.warn("could not get the CA's renewal window (ARI); using the lifetime ratio meanwhile", { reason });
        lastProblem = reason;
        window = await fallback(bundle, clock.now() + failureRecheck);
      }
      cached = { serial, window };
      return window;
    },
  };

  /** GET the renewalInfo resource (unauthenticated, RFC 9773 §4.2). @throws with a one-line reason. */
  async function ask(url: string, bundle: CertificateBundle): Promise<RenewalWindow> {
    const response = await get(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    const body = (await response.json().catch(() => undefined)) as { suggestedWindow?: { start?: unknown; end?: unknown }; explanationURL?: unknown } | undefined;
    const start = Date.parse(String(body?.suggestedWindow?.start));
    const end = Date.parse(String(body?.suggestedWindow?.end));
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) throw new Error(`GET ${url}: no valid suggestedWindow in the answer`);
    const retryAfter = parseRetryAfter(response.headers.get("retry-after") ?? undefined, clock.now()) ?? DEFAULT_RECHECK_MS;
    const recheckAt = clock.now() + Math.min(maxRecheck, Math.max(minRecheck, retryAfter));
    // A window past the expiry is of no use: renewing after it is an outage.
    const notAfter = bundle.info.notAfter.getTime();
    return {
      start: Math.min(start, notAfter),
      end: Math.min(end, notAfter),
      source: "ari",
      recheckAt,
      ...(typeof body?.explanationURL === "string" ? { explanationUrl: body.explanationURL } : {}),
    };
  }
}
