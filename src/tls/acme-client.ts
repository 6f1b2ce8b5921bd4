import { AsyncLocalStorage } from "node:async_hooks";
import { isIP } from "node:net";
import type { Authorization, Order } from "acme-client";
import type { Challenge, OrderCreateRequest } from "acme-client/types/rfc8555";

/**
 * The one place that talks to acme-client: the rest of the certificate
 * machinery sees `AcmeClient`, `AcmeError` and the key helpers below.
 *
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

type AcmeModule = typeof import("acme-client");

let configured: AcmeModule | undefined;

/**
 * Loads acme-client on first use (it is only needed when an order is due,
 * and its module graph would otherwise cost every cold start) and configures
 * its HTTP layer once. `timeoutMs`, when given, becomes the per-request
 * timeout: a hanging CA must not hang an order.
 */
async function loadAcme(timeoutMs?: number): Promise<AcmeModule> {
  if (configured) {
    if (timeoutMs !== undefined) configured.axios.defaults.timeout = timeoutMs;
    return configured;
  }
  const acme = (await import("acme-client")).default as unknown as AcmeModule;
  if (timeoutMs !== undefined) acme.axios.defaults.timeout = timeoutMs;
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
async function withProblems<T>(work: () => Promise<T>): Promise<T> {
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

export type { Authorization as AcmeAuthorization, Challenge as AcmeChallenge, Order as AcmeOrder };

/** A new order: identifiers (`dns` or `ip`), and the extensions this product sends. */
export interface AcmeOrderRequest {
  identifiers: { type: "dns" | "ip"; value: string }[];
  /** A certificate profile the CA offers in `meta.profiles` (Let's Encrypt: classic, shortlived, tlsserver). */
  profile?: string;
  /** RFC 9773: the CertID of the certificate this order renews. */
  replaces?: string;
}

/** The parts of an ACME directory this product reads. */
export interface AcmeDirectory {
  newOrder?: string;
  /** RFC 9773: where renewal windows are; absent when the CA offers no ARI. */
  renewalInfo?: string;
  meta?: { profiles?: Record<string, string> };
}

export interface AcmeClientOptions {
  directoryUrl: string;
  /** The account key (PEM). */
  accountKey: string;
  /** The account's URL, when it is registered already. */
  accountUrl?: string;
  /** External account binding, for CAs that require it. The HMAC key is a secret: never logged. */
  eab?: { kid: string; hmacKey: string };
  /** Per-request timeout towards the CA (default 15 s). */
  timeoutMs?: number;
  /** How long to wait for the CA to validate or to issue, in total (default 120 s). */
  pollTimeoutMs?: number;
}

/**
 * One account's view of a CA. Every call that reaches the CA goes through
 * `withProblems`: it rejects with an `AcmeError` carrying the CA's problem
 * document (type, detail, status, Retry-After) and ends at the first request
 * that fails, instead of retrying behind the caller's back.
 *
 * @example
 * const client = await AcmeClient.open({ directoryUrl, accountKey, timeoutMs: 15_000 });
 * const order = await client.createOrder({ identifiers: [{ type: "dns", value: "docs.example.com" }] });
 */
export class AcmeClient {
  readonly #client: InstanceType<AcmeModule["Client"]>;

  private constructor(client: InstanceType<AcmeModule["Client"]>) {
    this.#client = client;
  }

  static async open(options: AcmeClientOptions): Promise<AcmeClient> {
    const acme = await loadAcme(options.timeoutMs ?? 15_000);
    const pollMs = options.pollTimeoutMs ?? 120_000;
    return new AcmeClient(
      new acme.Client({
        directoryUrl: options.directoryUrl,
        accountKey: options.accountKey,
        accountUrl: options.accountUrl,
        externalAccountBinding: options.eab ? { kid: options.eab.kid, hmacKey: options.eab.hmacKey } : undefined,
        // Poll the CA from 0.5 s up to 8 s between attempts: fast against a
        // local CA, gentle on Let's Encrypt; the attempts bound the total wait.
        backoffMin: 500,
        backoffMax: 8_000,
        backoffAttempts: Math.max(3, Math.ceil(pollMs / 8_000) + 4),
      }),
    );
  }

  /** The account's URL (known once registered, or given). */
  get accountUrl(): string {
    return this.#client.getAccountUrl();
  }

  /** Registers the account, agreeing to the CA's terms. */
  async createAccount(email?: string): Promise<void> {
    await withProblems(() => this.#client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) }));
  }

  /**
   * Places an order. The request goes to the CA as given, so fields
   * acme-client does not know pass through: `profile` (the ACME profiles
   * draft) and `replaces` (RFC 9773's CertID of the certificate this one
   * renews).
   */
  createOrder(request: AcmeOrderRequest): Promise<Order> {
    return withProblems(() => this.#client.createOrder(request as OrderCreateRequest));
  }

  /** The CA's directory (cached by acme-client): which resources and profiles it offers. */
  directory(): Promise<AcmeDirectory> {
    const http = (this.#client as unknown as { http: { getDirectory(): Promise<AcmeDirectory> } }).http;
    return withProblems(() => http.getDirectory());
  }

  getAuthorizations(order: Order): Promise<Authorization[]> {
    return withProblems(() => this.#client.getAuthorizations(order));
  }

  /** Computed from the account key: no request to the CA. */
  keyAuthorization(challenge: Challenge): Promise<string> {
    return this.#client.getChallengeKeyAuthorization(challenge);
  }

  /** Tells the CA the challenge is ready, then waits until it validated it. */
  async validate(challenge: Challenge): Promise<void> {
    await withProblems(() => this.#client.completeChallenge(challenge));
    await withProblems(() => this.#client.waitForValidStatus(challenge));
  }

  finalizeOrder(order: Order, csr: Buffer): Promise<Order> {
    return withProblems(() => this.#client.finalizeOrder(order, csr));
  }

  /** The certificate chain (PEM, leaf first). */
  getCertificate(order: Order): Promise<string> {
    return withProblems(() => this.#client.getCertificate(order));
  }
}

/** A new account key: ECDSA P-256 (PEM). */
export async function createAccountKey(): Promise<string> {
  return (await (await loadAcme()).crypto.createPrivateEcdsaKey("P-256")).toString();
}

/** A fresh certificate key (PEM): ECDSA P-256 or RSA 2048. */
export async function createCertificateKey(keyType: "ecdsa" | "rsa"): Promise<string> {
  const acme = await loadAcme();
  const key = keyType === "rsa" ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey("P-256");
  return key.toString();
}

/** A CSR for `domains` (the first DNS name as common name; an IP address is never one) signed with `keyPem`. */
export async function createCsr(domains: readonly string[], keyPem: string): Promise<Buffer> {
  const acme = await loadAcme();
  const commonName = domains.find((name) => isIP(name) === 0);
  // createCsr makes an RSA key of its own when none is passed: pass ours.
  const [, csr] = await acme.crypto.createCsr({ ...(commonName ? { commonName } : {}), altNames: [...domains] }, keyPem);
  return csr;
}
