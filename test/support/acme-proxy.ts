/**
 * A fault-injecting HTTPS reverse proxy in front of an ACME CA (Pebble), for
 * tests of how the server copes with a CA that rate-limits, fails or hangs.
 *
 * - It listens on 127.0.0.1 with TLS, using a certificate the caller passes
 *   (the Pebble harness's listener certificate, `pebbleListenerTls()`, is
 *   valid for 127.0.0.1 and already trusted by a server started with
 *   `NODE_EXTRA_CA_CERTS=<pebble.caCertPath>`).
 * - It forwards every request with the client's own `Host` header: ACME
 *   requests are JWS-signed over their URL, and Pebble checks that URL
 *   against `https://<Host><path>`, so the upstream must see the proxy's
 *   host. Pebble then builds its URLs from that Host too; any absolute URL
 *   of the upstream that still shows up (in a body, `Location` or `Link`)
 *   is rewritten to the proxy's origin, so the client never bypasses it.
 * - It classifies each request by ACME resource (learnt from the directory
 *   and from the URLs in orders and authorizations), counts them with their
 *   arrival time, and can answer a chosen resource with a fault instead of
 *   forwarding it: 429 + `Retry-After` + an RFC 8555 problem document, a
 *   500, anything. A hook may also act before a request is forwarded (for
 *   example SIGSTOP the CA at a precise step of an order).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Server } from "bun";

/** ACME resources (RFC 8555 §7.1), plus what is not one. */
export type AcmeResource =
  | "directory"
  | "newNonce"
  | "newAccount"
  | "newOrder"
  | "revokeCert"
  | "keyChange"
  | "account"
  | "order"
  | "authorization"
  | "challenge"
  | "finalize"
  | "certificate"
  | "other";

/** An RFC 8555 §6.7 problem document. */
export interface Problem {
  type: string;
  detail: string;
  status?: number;
}

/** What to answer instead of forwarding. */
export interface Fault {
  status: number;
  /** `Retry-After` header value (seconds, or an HTTP date). */
  retryAfter?: number | string;
  /** Sent as `application/problem+json`. */
  problem?: Problem;
  /** A raw body instead of a problem document (an HTML error page, say). */
  body?: string;
  /** How many matching requests get the fault; then they are forwarded again. Default: until `clear()`. */
  times?: number;
}

export interface ProxiedRequest {
  /** `performance.now()` when the request reached the proxy. */
  at: number;
  method: string;
  path: string;
  resource: AcmeResource;
  /** Status sent back to the client (0 while still waiting for the upstream). */
  status: number;
  /** Whether the proxy answered it with an injected fault. */
  faulted: boolean;
  /** A POST's JWS payload, decoded (`undefined` for POST-as-GET and GETs): what the client asked for. */
  payload?: unknown;
}

/** Ways to make the proxy a CA with more features than its upstream (the ARI shim, ari-shim.ts). */
export interface ProxyExtension {
  /** Changes the directory object the client sees (URLs already point at the proxy). */
  directory?(directory: Record<string, unknown>, origin: string): Record<string, unknown>;
  /** Answers a request itself instead of forwarding it, when it returns a response. */
  route?(request: Request, url: URL): Response | undefined | Promise<Response | undefined>;
  /** Sees every forwarded answer (after rewriting), e.g. to read the certificates issued. */
  observe?(request: ProxiedRequest, body: string): void;
}

export interface AcmeProxyOptions {
  /** The real directory, e.g. `pebble.directoryUrl`. */
  upstreamDirectoryUrl: string;
  /** PEM the upstream's TLS certificate chains to (`pebble.caCertPem`). */
  upstreamCa: string;
  /** The proxy's own TLS certificate and key (PEM), valid for 127.0.0.1. */
  tls: { cert: string; key: string };
  extension?: ProxyExtension;
}

export interface AcmeProxy {
  /** The directory URL to give the server under test. */
  readonly directoryUrl: string;
  readonly origin: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Requests for `resource` so far (faulted or not). */
  requestsFor(resource: AcmeResource): ProxiedRequest[];
  /** Answers requests for `resource` with `fault` from now on (replaces an earlier fault for it). */
  fail(resource: AcmeResource, fault: Fault): void;
  /** Ends the fault for `resource`, or every fault. */
  clear(resource?: AcmeResource): void;
  /** Runs before a request for `resource` is forwarded (not for faulted ones); awaited. */
  beforeForward(resource: AcmeResource, hook: (request: ProxiedRequest) => void | Promise<void>): void;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The Pebble harness's HTTPS listener certificate (for localhost, 127.0.0.1
 * and ::1), signed by the CA at `caCertPath`: the files the harness wrote
 * beside it.
 */
export function pebbleListenerTls(pebble: { caCertPath: string }): { cert: string; key: string } {
  const dir = dirname(pebble.caCertPath);
  return { cert: readFileSync(join(dir, "listener.pem"), "utf8"), key: readFileSync(join(dir, "listener.key"), "utf8") };
}

/** Resource names of the directory object's URLs. */
const DIRECTORY_KEYS = ["newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"] as const;

/** Starts the proxy on a free loopback port; resolves once it knows the upstream's directory. */
export async function startAcmeProxy(options: AcmeProxyOptions): Promise<AcmeProxy> {
  const upstream = new URL(options.upstreamDirectoryUrl);
  const upstreamOrigin = upstream.origin;
  const requests: ProxiedRequest[] = [];
  const faults = new Map<AcmeResource, Fault & { left: number }>();
  const hooks = new Map<AcmeResource, (request: ProxiedRequest) => void | Promise<void>>();
  /** Path → resource, learnt as URLs go by. */
  const known = new Map<string, AcmeResource>([[upstream.pathname, "directory"]]);
  let origin = "";

  const learn = (url: unknown, resource: AcmeResource) => {
    if (typeof url !== "string") return;
    try {
      known.set(new URL(url).pathname, resource);
    } catch {
      // Not a URL: nothing to learn.
    }
  };
  /** Reads the URLs in an ACME JSON object, so later requests to them are classified. */
  const learnFrom = (resource: AcmeResource, body: unknown, location: string | null) => {
    if (typeof body !== "object" || body === null) return;
    const object = body as Record<string, unknown>;
    if (resource === "directory") for (const key of DIRECTORY_KEYS) learn(object[key], key);
    if (resource === "newAccount" && location) learn(location, "account");
    if (resource === "newOrder" && location) learn(location, "order");
    if (Array.isArray(object.authorizations)) for (const url of object.authorizations) learn(url, "authorization");
    learn(object.finalize, "finalize");
    learn(object.certificate, "certificate");
    if (Array.isArray(object.challenges)) for (const challenge of object.challenges) learn((challenge as { url?: unknown })?.url, "challenge");
  };
  const classify = (path: string): AcmeResource => known.get(path) ?? "other";
  const rewrite = (text: string) => text.split(upstreamOrigin).join(origin);

  const respondWithFault = (fault: Fault): Response => {
    const headers = new Headers({ "Cache-Control": "no-store" });
    if (fault.retryAfter !== undefined) headers.set("Retry-After", String(fault.retryAfter));
    if (fault.problem) {
      headers.set("Content-Type", "application/problem+json");
      return new Response(JSON.stringify({ ...fault.problem, status: fault.problem.status ?? fault.status }), { status: fault.status, headers });
    }
    headers.set("Content-Type", "text/html");
    return new Response(fault.body ?? `<html><body>${fault.status}</body></html>`, { status: fault.status, headers });
  };

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const own = await options.extension?.route?.(request, url);
    if (own) return own;
    const entry: ProxiedRequest = {
      at: performance.now(),
      method: request.method,
      path: url.pathname,
      resource: classify(url.pathname),
      status: 0,
      faulted: false,
    };
    requests.push(entry);

    const fault = faults.get(entry.resource);
    if (fault && fault.left > 0) {
      fault.left--;
      if (fault.left === 0) faults.delete(entry.resource);
      entry.faulted = true;
      entry.status = fault.status;
      return respondWithFault(fault);
    }

    await hooks.get(entry.resource)?.(entry);
    const headers = new Headers(request.headers);
    // Keep the client's Host (the proxy's): Pebble checks the JWS "url" against it.
    headers.set("Host", url.host);
    headers.delete("accept-encoding");
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    entry.payload = body ? jwsPayload(body) : undefined;
    let answer: Response;
    try {
      answer = await fetch(`${upstreamOrigin}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body,
        redirect: "manual",
        tls: { ca: options.upstreamCa },
      } as RequestInit);
    } catch (error) {
      entry.status = 502;
      return new Response(`upstream unreachable: ${(error as Error).message}`, { status: 502 });
    }
    const responseHeaders = new Headers();
    answer.headers.forEach((value, key) => {
      // The body is re-encoded below: length and encoding are the proxy's business.
      if (["content-length", "content-encoding", "transfer-encoding", "connection"].includes(key)) return;
      responseHeaders.append(key, key === "location" || key === "link" ? rewrite(value) : value);
    });
    const bytes = new Uint8Array(await answer.arrayBuffer());
    const type = answer.headers.get("content-type") ?? "";
    let out: BodyInit | null = request.method === "HEAD" ? null : bytes;
    if (/json/.test(type) && request.method !== "HEAD") {
      const text = new TextDecoder().decode(bytes);
      try {
        learnFrom(entry.resource, JSON.parse(text), answer.headers.get("location"));
      } catch {
        // Not JSON after all: forwarded as is.
      }
      out = rewrite(text);
      if (entry.resource === "directory" && options.extension?.directory) {
        out = JSON.stringify(options.extension.directory(JSON.parse(out as string) as Record<string, unknown>, origin));
      }
    }
    if (request.method !== "HEAD") options.extension?.observe?.(entry, typeof out === "string" ? out : new TextDecoder().decode(bytes));
    entry.status = answer.status;
    return new Response(out, { status: answer.status, headers: responseHeaders });
  };

  const server: Server<unknown> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: options.tls,
    // A hung upstream must look hung to the client, not be cut by the proxy.
    idleTimeout: 0,
    fetch: handle,
  });
  origin = `https://127.0.0.1:${server.port}`;
  const directoryUrl = `${origin}${upstream.pathname}`;

  // Learn the directory's URLs before the first client asks, so that even a
  // client whose very first POST is faulted is classified right.
  const directory = await fetch(options.upstreamDirectoryUrl, { tls: { ca: options.upstreamCa } } as RequestInit);
  learnFrom("directory", await directory.json(), null);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop(true);
  };

  return {
    directoryUrl,
    origin,
    requests,
    requestsFor: (resource) => requests.filter((request) => request.resource === resource),
    fail(resource, fault) {
      faults.set(resource, { ...fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clear(resource) {
      if (resource) faults.delete(resource);
      else faults.clear();
    },
    beforeForward(resource, hook) {
      hooks.set(resource, hook);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The payload of a flattened JWS request body (RFC 8555 §6.2), decoded; `undefined` when empty or not JSON. */
function jwsPayload(body: ArrayBuffer): unknown {
  try {
    const jws = JSON.parse(new TextDecoder().decode(body)) as { payload?: string };
    return jws.payload ? JSON.parse(Buffer.from(jws.payload, "base64url").toString("utf8")) : undefined;
  } catch {
    return undefined;
  }
}
