import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DocsSource, LoadResult } from "./source.ts";
import { parseHugoIndex } from "./hugo.ts";
import { removeStaleTempFiles, writeFileAtomic } from "../storage/atomic-file.ts";
import { displayUrl, withoutUrlSecrets } from "../log/redact.ts";

/** Options of a remote Hugo JSON index. */
export interface RemoteSourceOptions {
  url: string;
  /** Directory for the last good copy, so a restart without network still serves. */
  cacheDir: string;
  /** Largest accepted response; a bigger one is refused while it streams, not after. */
  maxBytes?: number;
  /** Per-fetch deadline: a server that hangs must not stall refreshes forever. */
  timeoutMs?: number;
}

interface CacheMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
}

/**
 * A Hugo JSON index fetched over http(s). Revalidated with `If-None-Match` /
 * `If-Modified-Since`, so an unchanged index costs a 304. Every good copy is
 * saved under `cacheDir`; when a fetch fails at start, that copy is served
 * (with a warning) instead of nothing.
 *
 * A copy that cannot be saved (a full disk) is still served: the index is
 * good, only its backup is missing. The save is retried at each later load,
 * and the revalidation headers are kept in memory meanwhile, so an unchanged
 * index is not downloaded again for want of a file.
 *
 * The URL's user info and query string (where tokens go) never leave this
 * class: `description` and every error message show scheme, host and path.
 */
export class RemoteSource implements DocsSource {
  readonly description: string;
  readonly defaultTitle: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #bodyPath: string;
  readonly #metaPath: string;
  #meta: CacheMeta | undefined;
  #loadedOnce = false;
  /** A fetched copy not yet saved (the save failed): written at the next load. */
  #unsaved: { text: string; meta: CacheMeta } | undefined;

  constructor(private readonly options: RemoteSourceOptions) {
    const url = new URL(options.url);
    this.description = displayUrl(options.url);
    this.defaultTitle = url.hostname;
    this.#maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    const key = new Bun.CryptoHasher("sha256").update(options.url).digest("hex").slice(0, 16);
    this.#bodyPath = join(options.cacheDir, `${key}.json`);
    this.#metaPath = join(options.cacheDir, `${key}.meta.json`);
  }

  async load(): Promise<LoadResult | undefined> {
    const first = !this.#loadedOnce;
    this.#loadedOnce = true;
    try {
      if (first) {
        // Half-written copies of a process that was killed mid-save.
        await removeStaleTempFiles(this.options.cacheDir);
        this.#meta = await this.#readMeta();
      }
      if (this.#unsaved) await this.#save(this.#unsaved.text, this.#unsaved.meta).catch(() => {});
      return await this.#fetch(first);
    } catch (error) {
      const reason = withoutUrlSecrets((error as Error).message, this.options.url);
      if (!first) throw new Error(reason);
      const cached = await this.#readCache();
      if (!cached) throw new Error(reason);
      return { ...cached, warning: `fetch failed (${reason}); serving the copy saved ${this.#meta?.fetchedAt}` };
    }
  }

  async #fetch(first: boolean): Promise<LoadResult | undefined> {
    const headers = new Headers({ Accept: "application/json" });
    // Revalidate only when the cached body is really there to fall back on.
    if (this.#meta && !(first && !(await Bun.file(this.#bodyPath).exists()))) {
      if (this.#meta.etag) headers.set("If-None-Match", this.#meta.etag);
      if (this.#meta.lastModified) headers.set("If-Modified-Since", this.#meta.lastModified);
    }
    const response = await fetch(this.options.url, { headers, signal: AbortSignal.timeout(this.#timeoutMs) });
    if (response.status === 304) {
      await response.body?.cancel();
      return first ? this.#readCache() : undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    if ((response.headers.get("content-type") ?? "").includes("text/html")) {
      await response.body?.cancel();
      throw new Error("got an HTML page (Content-Type text/html), not a Hugo JSON index");
    }
    const text = await readLimited(response, this.#maxBytes);
    const index = parseHugoIndex(text);
    const meta: CacheMeta = {
      url: this.description,
      etag: response.headers.get("etag") ?? undefined,
      lastModified: response.headers.get("last-modified") ?? undefined,
      fetchedAt: new Date().toISOString(),
    };
    // Revalidate against this copy from now on, saved or not.
    this.#meta = meta;
    try {
      await this.#save(text, meta);
    } catch (error) {
      this.#unsaved = { text, meta };
      const warning = `the fetched index is served, but its last good copy could not be saved in ${this.options.cacheDir} (${(error as Error).message}); the save is retried at each refresh`;
      return { ...index, warning };
    }
    return index;
  }

  /**
   * Saves a copy: the body first, then the meta that points at it, so a crash
   * in between leaves an older meta, which at worst costs one full fetch.
   */
  async #save(text: string, meta: CacheMeta): Promise<void> {
    await writeFileAtomic(this.#bodyPath, text);
    await writeFileAtomic(this.#metaPath, JSON.stringify(meta));
    this.#unsaved = undefined;
  }

  async #readMeta(): Promise<CacheMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.#metaPath, "utf8")) as CacheMeta;
    } catch {
      return undefined;
    }
  }

  async #readCache(): Promise<LoadResult | undefined> {
    try {
      return parseHugoIndex(await readFile(this.#bodyPath, "utf8"));
    } catch {
      return undefined;
    }
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`response of ${declared} bytes is over the ${maxBytes}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`response is over the ${maxBytes}-byte limit`);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
