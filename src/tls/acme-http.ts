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

/** One `withProblems` call: the problem documents seen, and how to give it up. */
interface Call {
  problems: AcmeProblem[];
  /** Ends the call at once with `error` (see `withProblems`). */
  giveUp(error: Error): void;
  givenUp: boolean;
}

const calls = new AsyncLocalStorage<Call>();

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
  // A call given up (see withProblems) must not go on talking to the CA in
  // the background: its later requests fail here, without reaching it.
  acme.axios.interceptors.request.use((config) => {
    if (calls.getStore()?.givenUp) return Promise.reject(Object.assign(new Error("the ACME call was given up"), { code: "ERR_GIVEN_UP" }));
    return config;
  });
  // Our handler must run before acme-client's own: that one dereferences the
  // response of a network error that has none (with retries off) and throws a
  // TypeError in place of the real cause. Axios runs response interceptors in
  // the order of this list, so ours goes first.
  acme.axios.interceptors.response.use(undefined, (error) => {
    if (!error?.response) {
      // Without `config`, acme-client's handler passes the error through as is.
      const cause = error as { code?: string; message?: string; config?: { method?: string; url?: string } };
      // Name the request: "timeout of 15000ms exceeded" alone does not say
      // whether the directory, the order or the finalization hung.
      const method = cause.config?.method ? `${cause.config.method.toUpperCase()} ` : "";
      const request = cause.config?.url ? `; ${method}${cause.config.url}` : "";
      const plain = Object.assign(new Error(`${cause.code ?? "network error"}: ${cause.message ?? "no response"}${request}`), { code: cause.code });
      calls.getStore()?.giveUp(plain);
      return Promise.reject(plain);
    }
    const problem = record(error.response.status, error.response.headers, error.response.data, error.config?.url);
    // acme-client retries badNonce itself, rightly; any other error ends the call.
    if (problem && !problem.type.endsWith(":badNonce")) calls.getStore()?.giveUp(new Error(problem.detail));
    return Promise.reject(error);
  });
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift(handlers.pop());
  configured = acme;
  return acme;
}

function record(status: number, headers: Record<string, unknown>, data: unknown, url = ""): AcmeProblem | undefined {
  if (status < 400) return undefined;
  const store = calls.getStore();
  if (!store) return undefined;
  const body = typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
  const problem: AcmeProblem = {
    type: typeof body.type === "string" ? body.type : "about:blank",
    detail: typeof body.detail === "string" ? body.detail : `HTTP ${status}`,
    status,
    retryAfterMs: parseRetryAfter(headers["retry-after"]),
    url,
  };
  store.problems.push(problem);
  return problem;
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
 *
 * The first request that gets no answer (timeout, refused) or an error
 * document other than badNonce ends the call at once. acme-client's status
 * polling (`waitForValidStatus`, and `getCertificate` while the order is
 * processing) retries every failure silently, up to `backoffAttempts`
 * times: a CA that hung during an order kept it going for minutes (19
 * attempts × the request timeout, plus up to 8 s between them) without a
 * log line, and a 429 or 503 while polling was retried within seconds,
 * whatever its Retry-After. The product's own backoff decides instead.
 */
export async function withProblems<T>(work: () => Promise<T>): Promise<T> {
  let reject!: (error: Error) => void;
  const givenUp = new Promise<never>((_, rejectWith) => (reject = rejectWith));
  const call: Call = {
    problems: [],
    givenUp: false,
    giveUp(error) {
      if (call.givenUp) return;
      call.givenUp = true;
      reject(error);
    },
  };
  const running = calls.run(call, work);
  // Whichever of the two loses the race ends unobserved.
  running.catch(() => {});
  givenUp.catch(() => {});
  try {
    return await Promise.race([running, givenUp]);
  } catch (error) {
    if (error instanceof AcmeError) throw error;
    // acme-client retries badNonce by itself: such a problem is never the cause.
    const problem = [...call.problems].reverse().find((p) => !p.type.endsWith(":badNonce"));
    const message = (error as Error)?.message ?? String(error);
    const timedOut = (error as { code?: string })?.code === "ECONNABORTED" || /timeout/i.test(message);
    throw new AcmeError(timedOut ? `no answer from the CA within the timeout (${message})` : message, problem);
  }
}
