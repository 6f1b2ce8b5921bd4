import type { Page } from "../page.ts";
import { idFromPermalink } from "../ids.ts";
import { htmlToMarkdown } from "./html-to-markdown.ts";
import { ALLOW_ALL, parseRobots, type RobotsRules } from "./robots.ts";
import type { CachedDocument } from "./site-cache.ts";
import { inPool, USER_AGENT, type SiteResponse } from "./site-fetch.ts";
import { parseSitemap } from "./sitemap.ts";
import { WebsiteSource, type Crawl } from "./website-source.ts";

/** How deep sitemap indexes may nest (an index of indexes of sitemaps). */
const MAX_SITEMAP_DEPTH = 2;
/** Most sitemap files read in one load, indexes included. */
const MAX_SITEMAPS = 50;

/**
 * A website, by the URL of its `sitemap.xml` (or a sitemap index): each
 * listed page of the same site (origin) is fetched and its main content
 * converted to Markdown (see {@link htmlToMarkdown}). Bounded: at most
 * `maxPages` pages, each within `maxPageBytes`, all within `maxTotalBytes`,
 * `concurrency` at a time, redirects only within the site. `robots.txt` is
 * honoured for our user agent and `*`; when it cannot be read for a server
 * error, nothing is fetched (RFC 9309: assume complete disallow).
 *
 * A refresh revalidates the sitemap and every page with `If-None-Match` /
 * `If-Modified-Since`; when all answer 304 the index is not rebuilt. The last
 * good copy is kept (see {@link WebsiteSource}).
 */
export class SitemapSource extends WebsiteSource {
  protected async crawl(previous: Record<string, CachedDocument> | undefined): Promise<Crawl> {
    const origin = this.url.origin;
    const limits = this.limits;
    const get = this.fetcher(previous);
    const robots = await this.#robots(get);
    const documents: Record<string, CachedDocument> = {};
    let changed = false;

    // The sitemap files: each kept with its text, so a 304 still tells which pages it lists.
    const pageUrls: string[] = [];
    const queue: { url: string; depth: number }[] = [{ url: this.url.href, depth: 0 }];
    for (let read = 0; queue.length > 0 && read < MAX_SITEMAPS; read++) {
      const { url, depth } = queue.shift()!;
      const response = await get(url, "application/xml, text/xml;q=0.9, */*;q=0.1");
      let text: string;
      if (response.status === 304 && previous?.[url]?.text !== undefined) {
        documents[url] = previous[url]!;
        text = previous[url]!.text!;
      } else if (response.status === 200 && "text" in response) {
        documents[url] = { validators: response.validators, pages: [], text: response.text };
        text = response.text;
        changed = true;
      } else if (depth === 0) {
        throw new Error(`${this.description}: HTTP ${response.status}`);
      } else {
        continue;
      }
      const sitemap = parseSitemap(text);
      for (const listed of sitemap.urls) {
        if (new URL(listed).origin !== origin) continue;
        if (sitemap.kind === "sitemapindex") {
          if (depth < MAX_SITEMAP_DEPTH) queue.push({ url: listed, depth: depth + 1 });
        } else if (!pageUrls.includes(listed) && robots.allows(pathOf(listed))) {
          pageUrls.push(listed);
        }
      }
    }

    const pages = await inPool(pageUrls.slice(0, limits.maxPages), limits.concurrency, async (url) => {
      const response = await get(url, "text/html, application/xhtml+xml;q=0.9");
      if (response.status === 304 && previous?.[url]) return { url, document: previous[url]!, changed: false };
      if (response.status !== 200 || !("text" in response) || !/html|xml/.test(response.contentType || "text/html")) {
        // Gone or not a page: left out; the index changes only if it had it.
        return { url, document: undefined, changed: previous?.[url] !== undefined };
      }
      const page = pageOf(url, response.text);
      return { url, document: page ? { validators: response.validators, pages: [page] } : undefined, changed: true };
    });
    for (const page of pages) {
      if (page.document) documents[page.url] = page.document;
      changed ||= page.changed;
    }
    if (previous && Object.keys(previous).length !== Object.keys(documents).length) changed = true;
    return { documents, changed };
  }

  /** The site's robots.txt rules for us: none when it has none (4xx); a server error stops the load. */
  async #robots(get: (url: string, accept: string) => Promise<SiteResponse>): Promise<RobotsRules> {
    const response = await get(new URL("/robots.txt", this.url).href, "text/plain");
    if (response.status === 200 && "text" in response) return parseRobots(response.text, USER_AGENT);
    if (response.status >= 500) throw new Error(`robots.txt answered HTTP ${response.status}; nothing is fetched until it can be read`);
    return ALLOW_ALL;
  }
}

function pageOf(url: string, html: string): Page | undefined {
  const converted = htmlToMarkdown(html, url);
  if (converted.markdown.trim() === "") return undefined;
  const id = idFromPermalink(url.replace(/\/index\.html?$/i, "/"));
  return { id, title: converted.title ?? id, url, markdown: converted.markdown };
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

/** Whether a URL names a sitemap (`sitemap.xml`, `sitemap_index.xml`, `sitemap-0.xml.gz`…). */
export function isSitemapUrl(url: string): boolean {
  return URL.canParse(url) && /(^|\/)[^/]*sitemap[^/]*\.xml(\.gz)?$/i.test(new URL(url).pathname);
}
