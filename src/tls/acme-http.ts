import { AsyncLocalStorage } from "node:async_hooks";

/**
 * acme-client's HTTP layer, tamed. Out of the box it retries 429, 5xx and
 * network errors five times with `Retry-After` sleeps inside one call (an
 * hour-long Retry-After would block an order for an hour), has no timeout,
 * and throws `new Error(detail)`, dropping the problem `type` and the
 * `Retry-After` header. Here: no hidden retries, a timeout on every request,
 * and each CA problem document captured so the product's own backoff decides.
 */

/** An ACME problem document (RFC 8555 §6.7) with the HTTP facts that came with it. */
export interface AcmeProblem {
  type: string;
  detail: string;
  status: number;
  /** From `Retry-After`, when the CA sent one. */
  retryAfterMs?: number;
  url: string;
}

/** An error from the CA, with its problem document when there was one. */
export class AcmeError extends Error {
  override name = "AcmeError";
  constructor(
    message: string,
    readonly problem?: AcmeProblem,
  ) {
    super(message);
  }

  /** Short type, such as `rateLimited` or `accountDoesNotExist`. */
  get type(): string | undefined {
    return this.problem?.type.replace("urn:ietf:params:acme:error:", "");
  }
}

const problems = new AsyncLocalStorage<AcmeProblem[]>();

export interface AcmeHttpSettings {
  /** Per-request timeout. A hanging CA must not hang an order. */
  timeoutMs: number;
}

type AcmeModule = typeof import("acme-client");

let configured: AcmeModule | undefined;

/**
 * Loads acme-client on first use (it is only needed when an order is due,
 * and its module graph would otherwise cost every cold start) and configures
 * its HTTP layer once.
 */
export async function loadAcme(settings: AcmeHttpSettings): Promise<AcmeModule> {
  if (configured) {
    configured.axios.defaults.timeout = settings.timeoutMs;
    return configured;
  }
  const acme = (await import("acme-client")).default as unknown as AcmeModule;
  acme.axios.defaults.timeout = settings.timeoutMs;
  // The product's backoff handles 429/5xx/network errors with Retry-After;
  // acme-client would otherwise sleep inside a single call.
  (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
  // Our handler must run before acme-client's own: that one dereferences the
  // response of a network error that has none (with retries off) and throws a
  // TypeError in place of the real cause. Axios runs response interceptors in
  // the order of this list, so ours goes first.
  acme.axios.interceptors.response.use(undefined, (error) => {
    if (!error?.response) {
      // Without `config`, acme-client's handler passes the error through as is.
      const cause = error as { code?: string; message?: string };
      const plain = Object.assign(new Error(`${cause.code ?? "network error"}: ${cause.message ?? "no response"}`), { code: cause.code });
      return Promise.reject(plain);
    }
    record(error.response.status, error.response.headers, error.response.data, error.config?.url);
    return Promise.reject(error);
  });
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift(handlers.pop());
  configured = acme;
  return acme;
}

function record(status: number, headers: Record<string, unknown>, data: unknown, url = ""): void {
  if (status < 400) return;
  const store = problems.getStore();
  if (!store) return;
  const body = typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
  store.push({
    type: typeof body.type === "string" ? body.type : "about:blank",
    detail: typeof body.detail === "string" ? body.detail : `HTTP ${status}`,
    status,
    retryAfterMs: parseRetryAfter(headers["retry-after"]),
    url,
  });
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Runs `work` and turns whatever it throws into an `AcmeError` carrying the
 * last problem document the CA sent during it. A badNonce that acme-client
 * retried by itself does not count as the cause.
 */
export async function withProblems<T>(work: () => Promise<T>): Promise<T> {
  const seen: AcmeProblem[] = [];
  try {
    return await problems.run(seen, work);
  } catch (error) {
    if (error instanceof AcmeError) throw error;
    // acme-client retries badNonce by itself: such a problem is never the cause.
    const problem = [...seen].reverse().find((p) => !p.type.endsWith(":badNonce"));
    const message = (error as Error)?.message ?? String(error);
    const timedOut = (error as { code?: string })?.code === "ECONNABORTED" || /timeout/i.test(message);
    throw new AcmeError(timedOut ? `no answer from the CA within the timeout (${message})` : message, problem);
  }
}
