import type { Storage } from "../storage/storage.ts";
import { certificateKeys } from "./bundle.ts";

const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";
// RFC 8555 tokens are base64url; anything else is not a token we could have issued.
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

export interface ChallengeResponderOptions {
  storage: Storage;
  /** Configured domains: redirects go to these names only. */
  domains: readonly string[];
  /** HTTPS port redirects point to (read per request: it is known once the TLS listener is up). */
  httpsPort: () => number;
  /** Answers `/healthz` (the HTTPS side's status). */
  health: () => Response | Promise<Response>;
}

/**
 * The port-80 side of a TLS deployment, as a fetch handler: answers HTTP-01
 * challenges from storage (so any process sharing it can answer any
 * process's challenge: see the HTTP-01 solver in solvers.ts), serves
 * `/healthz`, and redirects everything else to https with 308, which keeps
 * the method and body.
 *
 * It never serves MCP or documentation over plain HTTP.
 *
 * @example
 * Bun.serve({ port: 80, reusePort: true, fetch: challengeResponder({ storage, domains, httpsPort: () => 443, health }) });
 */
export function challengeResponder(options: ChallengeResponderOptions): (request: Request) => Promise<Response> {
  const primary = options.domains[0]!;

  return async function respondToChallenge(request) {
    // Bun builds the URL from the Host header: a malformed one is the client's error.
    if (!URL.canParse(request.url)) return new Response("invalid Host header\n", { status: 400 });
    const url = new URL(request.url);
    if (url.pathname.startsWith(CHALLENGE_PREFIX)) {
      // The raw path, not a decoded one: an encoded `/` or `..` is simply not a token.
      const token = url.pathname.slice(CHALLENGE_PREFIX.length);
      if (request.method === "GET" && TOKEN.test(token)) {
        const keyAuthorization = await options.storage.load(certificateKeys.challenge(token)).catch(() => undefined);
        if (keyAuthorization) return new Response(keyAuthorization, { headers: { "Content-Type": "text/plain" } });
      }
      return new Response("unknown challenge\n", { status: 404 });
    }
    if (url.pathname === "/healthz") return options.health();
    const path = originFormPath(request);
    if (path === undefined) return new Response("bad request target: only origin-form (a path starting with /) is redirected\n", { status: 400 });
    // Redirect only to our own names: a forged Host must not turn this into
    // a redirector to someone else's site.
    const host = (request.headers.get("host") ?? "").replace(/:\d+$/, "").toLowerCase();
    const target = options.domains.includes(host) ? host : primary;
    const port = options.httpsPort();
    const portSuffix = port === 443 ? "" : `:${port}`;
    return new Response(null, { status: 308, headers: { Location: `https://${target}${portSuffix}${path}` } });
  };
}

/**
 * The path and query of an origin-form request (RFC 9112, 3.2.1), the only
 * form a browser sends to port 80: `undefined` for CONNECT (whose target,
 * `host:port`, Bun hands over raw as the URL), for absolute-form
 * (`GET http://elsewhere/…`, whose authority differs from the Host header),
 * and for asterisk-form (`OPTIONS *`). Built into a Location after our own
 * name, any of those would let the request pick where the redirect goes
 * (`https://docs.example.com:443@evil.example/`).
 */
function originFormPath(request: Request): string | undefined {
  if (request.method === "CONNECT") return undefined;
  const url = new URL(request.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const host = request.headers.get("host");
  if (host === null || url.host !== new URL(`http://${host}`).host) return undefined;
  if (!url.pathname.startsWith("/")) return undefined;
  // `//evil.example/` after our name is only a path, but a plain one is clearer to every client.
  return url.pathname.replace(/^\/{2,}/, "/") + url.search;
}
