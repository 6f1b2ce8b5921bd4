import { decodeEntities } from "./html-entities.ts";

/**
 * A sitemap (sitemaps.org): the page URLs of a `<urlset>`, or the child
 * sitemaps of a `<sitemapindex>`. Read with a plain scan for `<loc>`: the
 * format is flat, and an XML parser would add nothing but a dependency.
 */
export interface Sitemap {
  /** `urlset`: pages; `sitemapindex`: further sitemaps. */
  kind: "urlset" | "sitemapindex";
  urls: string[];
}

/**
 * Parses a sitemap's text.
 * @throws Error when it is neither a `<urlset>` nor a `<sitemapindex>`.
 */
export function parseSitemap(text: string): Sitemap {
  const kind = /<sitemapindex[\s>]/i.test(text) ? "sitemapindex" : /<urlset[\s>]/i.test(text) ? "urlset" : undefined;
  if (!kind) throw new Error("not a sitemap (no <urlset> or <sitemapindex>)");
  const urls: string[] = [];
  for (const match of text.matchAll(/<loc>\s*(?:<!\[CDATA\[)?([\s\S]*?)(?:\]\]>)?\s*<\/loc>/gi)) {
    const url = decodeEntities(match[1]!.trim());
    if (URL.canParse(url)) urls.push(url);
  }
  return { kind, urls };
}
