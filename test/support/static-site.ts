/**
 * A static file server for a documentation site's files in test/fixtures/sites,
 * as a host would serve them: clean URLs (`/docs/api` → `docs/api.html`),
 * `index.html` for folders, precompressed `.gz` files, an `ETag` per file
 * with 304 for `If-None-Match`, and the site's own origin in its texts
 * replaced by this server's (as if the site were deployed here). Every
 * request is logged, so tests can count what a source fetched.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, normalize } from "node:path";

export const SITES_DIR = new URL("../fixtures/sites/", import.meta.url).pathname;

export interface SiteRequest {
  path: string;
  ifNoneMatch: string | null;
  userAgent: string | null;
  status: number;
}

export interface StaticSite {
  origin: string;
  requests: SiteRequest[];
  /** Answers every request with this status from now on (a site that is down), or serves again with `undefined`. */
  failWith(status: number | undefined): void;
  /** Serves `text` at `path` (overriding any file), or removes the override with `undefined`. */
  override(path: string, text: string | undefined, contentType?: string): void;
  stop(): void;
}

const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", xml: "application/xml", txt: "text/plain; charset=utf-8", md: "text/markdown; charset=utf-8", json: "application/json" };

/**
 * Serves `test/fixtures/sites/<name>`, rewriting `siteOrigin` (such as
 * `https://hono.dev`) to its own origin in every text it sends.
 */
export function serveSite(name: string, siteOrigin: string): StaticSite {
  const root = join(SITES_DIR, name);
  const requests: SiteRequest[] = [];
  const overrides = new Map<string, { text: string; type: string }>();
  let failing: number | undefined;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      const url = new URL(request.url);
      const answer = (status: number, body?: string, headers: Record<string, string> = {}) => {
        requests.push({ path: url.pathname, ifNoneMatch: request.headers.get("if-none-match"), userAgent: request.headers.get("user-agent"), status });
        return new Response(body ?? null, { status, headers });
      };
      if (failing) return answer(failing, "down");
      const override = overrides.get(url.pathname);
      const found = override ? undefined : resolveFile(root, decodeURIComponent(url.pathname));
      if (!override && !found) return answer(404, "not found");
      const text = override ? override.text : readText(found!).replaceAll(siteOrigin, url.origin);
      const type = override ? override.type : (TYPES[found!.replace(/\.gz$/, "").split(".").pop()!] ?? "application/octet-stream");
      const etag = `"${new Bun.CryptoHasher("sha1").update(text).digest("hex").slice(0, 16)}"`;
      if (request.headers.get("if-none-match") === etag) return answer(304, undefined, { ETag: etag });
      return answer(200, text, { "Content-Type": type, ETag: etag });
    },
  });
  return {
    origin: `http://127.0.0.1:${server.port}`,
    requests,
    failWith: (status) => void (failing = status),
    override: (path, text, contentType = "text/plain") => void (text === undefined ? overrides.delete(path) : overrides.set(path, { text, type: contentType })),
    stop: () => void server.stop(true),
  };
}

function resolveFile(root: string, path: string): string | undefined {
  const clean = normalize(path).replace(/^(\.\.[/\\])+/, "");
  const base = join(root, clean);
  if (!base.startsWith(root)) return undefined;
  for (const candidate of [base, `${base}.html`, join(base, "index.html")]) {
    for (const file of [candidate, `${candidate}.gz`]) {
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
  }
  return undefined;
}

function readText(file: string): string {
  const bytes = readFileSync(file);
  return new TextDecoder().decode(file.endsWith(".gz") ? Bun.gunzipSync(bytes) : bytes);
}
