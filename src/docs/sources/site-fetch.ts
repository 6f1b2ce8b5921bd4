import { displayUrl } from "../../log/redact.ts";

/**
 * One bounded HTTP GET of a page of a documentation site, as the website
 * sources (llms.txt, sitemap.xml) make them: a deadline, a byte limit
 * enforced while the body streams, redirects followed only within the site
 * (same origin) and at most {@link MAX_REDIRECTS} of them, and a
 * conditional request when validators of an earlier copy are known.
 */

/** What identifies an earlier copy for a conditional GET. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface SiteFetchOptions {
  /** Only URLs of this origin are fetched, redirects included. */
  origin: string;
  maxBytes: number;
  timeoutMs: number;
  /** Sent as `If-None-Match` / `If-Modified-Since`. */
  validators?: Validators;
  accept?: string;
}

export type SiteResponse =
  | { status: 304 }
  | { status: 200; url: string; text: string; contentType: string; validators: Validators }
  | { status: number; url: string };

export const MAX_REDIRECTS = 5;
/** How the sources name themselves to sites, and the token robots.txt rules match. */
export const USER_AGENT = "mcp-server";

/**
 * Fetches `url`. A 304 (with validators given) says the earlier copy is
 * current; another non-2xx status is returned for the caller to judge
 * (a 404 robots.txt means "no rules", a 404 page means "skip it").
 *
 * @throws Error with a one-line reason (URLs shown without secrets): an
 *   off-site URL or redirect, too many redirects, a body over `maxBytes`, a
 *   timeout or a network error.
 */
export async function siteFetch(url: string, options: SiteFetchOptions): Promise<SiteResponse> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (new URL(current).origin !== options.origin) throw new Error(`${displayUrl(current)} is not on ${options.origin}`);
    const headers = new Headers({ "User-Agent": USER_AGENT, Accept: options.accept ?? "*/*" });
    if (options.validators?.etag) headers.set("If-None-Match", options.validators.etag);
    if (options.validators?.lastModified) headers.set("If-Modified-Since", options.validators.lastModified);
    const response = await fetch(current, { headers, redirect: "manual", signal: AbortSignal.timeout(options.timeoutMs) });
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && response.status !== 304 && location) {
      await response.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    if (response.status === 304) {
      await response.body?.cancel();
      return { status: 304 };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { status: response.status, url: current };
    }
    return {
      status: 200,
      url: current,
      text: await readBounded(response, options.maxBytes, current),
      contentType: (response.headers.get("content-type") ?? "").toLowerCase(),
      validators: {
        etag: response.headers.get("etag") ?? undefined,
        lastModified: response.headers.get("last-modified") ?? undefined,
      },
    };
  }
  throw new Error(`${displayUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
}

/** The body as text, refused as soon as it passes `maxBytes` (declared or streamed). Gzip files (`.gz`) are unpacked, within the same limit. */
async function readBounded(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`${displayUrl(url)}: ${declared} bytes is over the ${maxBytes}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`${displayUrl(url)}: over the ${maxBytes}-byte limit`);
    chunks.push(chunk);
  }
  let bytes: Uint8Array = Buffer.concat(chunks);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>);
    if (bytes.byteLength > maxBytes) throw new Error(`${displayUrl(url)}: unpacked, over the ${maxBytes}-byte limit`);
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time, results in
 * the items' order. A failure of one item rejects the whole run (the
 * caller keeps its last good copy).
 */
export async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
