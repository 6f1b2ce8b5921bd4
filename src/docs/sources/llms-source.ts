import type { Page } from "../page.ts";
import { idFromPermalink } from "../ids.ts";
import { htmlToMarkdown } from "./html-to-markdown.ts";
import { parseLlmsIndex, splitLlmsFull } from "./llms-text.ts";
import type { CachedDocument } from "./site-cache.ts";
import { inPool } from "./site-fetch.ts";
import { WebsiteSource, type Crawl } from "./website-source.ts";

/**
 * Documentation published by the llms.txt convention (llmstxt.org), by URL:
 *
 * - an `llms-full.txt` (or any such file that is not an index) is split into
 *   pages at its headings (see {@link splitLlmsFull});
 * - an `llms.txt` index has its linked pages fetched: only links of the same
 *   site (origin), at most `maxPages` of them, each within `maxPageBytes`
 *   and all within `maxTotalBytes`, `concurrency` at a time. A linked page
 *   served as HTML is converted to Markdown (main content only); one that
 *   answers 404 is left out.
 *
 * Every document is revalidated with its own `If-None-Match` /
 * `If-Modified-Since` on refresh; the last good copy is kept (see
 * {@link WebsiteSource}).
 */
export class LlmsSource extends WebsiteSource {
  protected async crawl(previous: Record<string, CachedDocument> | undefined): Promise<Crawl> {
    const origin = this.url.origin;
    const limits = this.limits;
    const get = this.fetcher(previous);
    const entryUrl = this.url.href;

    const entry = await get(entryUrl, "text/markdown, text/plain;q=0.9, */*;q=0.1");
    const isIndex = /(^|\/)llms\.txt$/i.test(this.url.pathname);
    let changed = false;
    const documents: Record<string, CachedDocument> = {};
    if (entry.status === 304 && previous?.[entryUrl]) {
      documents[entryUrl] = previous[entryUrl]!;
    } else if (entry.status === 200 && "text" in entry) {
      if (entry.contentType.includes("text/html") || /^\s*<(!doctype|html)/i.test(entry.text)) throw new Error(`${this.description}: got an HTML page, not an llms.txt`);
      // An index keeps its text, to read its links again when it answers 304; a full file keeps only its pages.
      documents[entryUrl] = isIndex ? { validators: entry.validators, pages: [], text: entry.text } : { validators: entry.validators, pages: splitLlmsFull(entry.text, entryUrl) };
      changed = true;
    } else {
      throw new Error(`${this.description}: HTTP ${entry.status}`);
    }
    if (!isIndex) return { documents, changed };

    const indexText = documents[entryUrl]!.text ?? "";
    const links = parseLlmsIndex(indexText, entryUrl).links.filter((link) => new URL(link.url).origin === origin).slice(0, limits.maxPages);
    if (links.length === 0) {
      // An llms.txt that links nowhere on its site is itself the documentation.
      documents[entryUrl] = { ...documents[entryUrl]!, pages: splitLlmsFull(indexText, entryUrl) };
      return { documents, changed };
    }
    const pages = await inPool(links, limits.concurrency, async (link) => {
      const response = await get(link.url, "text/markdown, text/plain;q=0.9, text/html;q=0.5");
      if (response.status === 304 && previous?.[link.url]) return { url: link.url, document: previous[link.url]!, changed: false };
      // Gone (404) or refused: left out; the index changes only if it had it.
      if (response.status !== 200 || !("text" in response)) return { url: link.url, document: undefined, changed: previous?.[link.url] !== undefined };
      return { url: link.url, document: { validators: response.validators, pages: [linkedPage(link.title, link.url, response.text, response.contentType)] }, changed: true };
    });
    for (const page of pages) {
      if (page.document) documents[page.url] = page.document;
      changed ||= page.changed;
    }
    if (previous && Object.keys(previous).length !== Object.keys(documents).length) changed = true;
    return { documents, changed };
  }
}

/** A page linked from an llms.txt: Markdown as served, or HTML's main content as Markdown. */
function linkedPage(title: string, url: string, text: string, contentType: string): Page {
  const html = contentType.includes("text/html") || /^\s*<(!doctype|html)/i.test(text);
  const markdown = html ? htmlToMarkdown(text).markdown : text.replace(/^\uFEFF/, "").replace(/^---\r?\n[\s\S]*?\r?\n---[ \t]*\r?\n/, "");
  // The page a reader opens is the HTML one; `page.md` is its Markdown twin.
  const pageUrl = url.replace(/(\.html)?\.md$/i, "$1");
  return { id: idFromPermalink(pageUrl.replace(/\/index(\.html?)?$/i, "/")), title, url: pageUrl, markdown: markdown.trim() };
}

/** Whether a URL names an llms.txt-convention file (`llms.txt`, `llms-full.txt`, `llms-small.txt`…). */
export function isLlmsUrl(url: string): boolean {
  return URL.canParse(url) && /(^|\/)llms(-[a-z]+)?\.txt$/i.test(new URL(url).pathname);
}
