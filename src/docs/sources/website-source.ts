import type { DocsSource, LoadResult } from "../source.ts";
import { uniqueIds } from "../ids.ts";
import { displayUrl, withoutUrlSecrets } from "../../log/redact.ts";
import { SiteCache, urlKey, type CachedDocument } from "./site-cache.ts";
import { siteFetch, type SiteResponse } from "./site-fetch.ts";

/** Bounds on what one load of a website source may fetch. */
export interface SiteLimits {
  /** Most pages (documents besides the entry file). */
  maxPages: number;
  /** Largest document, entry file included. */
  maxPageBytes: number;
  /** Most bytes of all documents of one load together. */
  maxTotalBytes: number;
  /** Documents fetched at once. */
  concurrency: number;
  /** Deadline of each request. */
  timeoutMs: number;
}

export const DEFAULT_SITE_LIMITS: Readonly<SiteLimits> = {
  maxPages: 1_000,
  maxPageBytes: 4 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  concurrency: 4,
  timeoutMs: 30_000,
};

/** What one crawl found: the documents in order, and whether any differs from the previous copy. */
export interface Crawl {
  documents: Record<string, CachedDocument>;
  changed: boolean;
}

/**
 * What the website sources (llms.txt, sitemap.xml) share: the last good
 * copy under the cache directory, served with a warning when the first load
 * fails; "unchanged" when every document revalidated as unchanged; the URL's
 * secrets kept out of every message. Subclasses only crawl.
 */
export abstract class WebsiteSource implements DocsSource {
  readonly description: string;
  readonly defaultTitle: string;
  protected readonly url: URL;
  protected readonly limits: SiteLimits;
  readonly #cache: SiteCache;
  #previous: Record<string, CachedDocument> | undefined;
  #loadedOnce = false;
  #unsaved = false;

  constructor(url: string, cacheDir: string, limits: Partial<SiteLimits> = {}) {
    this.url = new URL(url);
    this.description = displayUrl(url);
    this.defaultTitle = this.url.hostname;
    this.limits = { ...DEFAULT_SITE_LIMITS, ...limits };
    this.#cache = new SiteCache(cacheDir, urlKey(url));
  }

  /**
   * A fetcher for one crawl: every document of the site within the page and
   * total byte limits (the total shrinks with each body read), revalidated
   * with the validators `previous` has for it.
   */
  protected fetcher(previous: Record<string, CachedDocument> | undefined): (url: string, accept: string) => Promise<SiteResponse> {
    const { maxPageBytes, timeoutMs } = this.limits;
    let budget = this.limits.maxTotalBytes;
    return async (url, accept) => {
      const response = await siteFetch(url, { origin: this.url.origin, maxBytes: Math.min(maxPageBytes, budget), timeoutMs, validators: previous?.[url]?.validators, accept });
      if (response.status === 200 && "text" in response) budget -= Buffer.byteLength(response.text);
      return response;
    };
  }

  /**
   * Fetches the site's documents, revalidating those of `previous`.
   * @throws Error with a one-line reason when the site cannot be read.
   */
  protected abstract crawl(previous: Record<string, CachedDocument> | undefined): Promise<Crawl>;

  async load(): Promise<LoadResult | undefined> {
    const first = !this.#loadedOnce;
    this.#loadedOnce = true;
    if (first) this.#previous = (await this.#cache.read())?.documents;
    let crawl: Crawl;
    try {
      crawl = await this.crawl(this.#previous);
    } catch (error) {
      const reason = withoutUrlSecrets((error as Error).message, this.url.href);
      if (!first || !this.#previous) throw new Error(reason);
      return { ...pagesOf(this.#previous), warning: `fetch failed (${reason}); serving the last good copy` };
    }
    const pages = pagesOf(crawl.documents);
    if (pages.pages.length === 0) throw new Error(`${this.description}: no pages found`);
    this.#previous = crawl.documents;
    if (!crawl.changed && !first && !this.#unsaved) return undefined;
    try {
      await this.#cache.write(crawl.documents);
      this.#unsaved = false;
    } catch (error) {
      this.#unsaved = true;
      return { ...pages, warning: `the pages are served, but their last good copy could not be saved (${(error as Error).message}); the save is retried at each refresh` };
    }
    return crawl.changed || first ? pages : undefined;
  }
}

function pagesOf(documents: Record<string, CachedDocument>): LoadResult {
  // Copies: uniqueIds renames in place, and the cached pages must keep their own ids.
  return { pages: uniqueIds(Object.values(documents).flatMap((document) => document.pages.map((page) => ({ ...page })))) };
}
