/**
 * A documentation page as every source adapter produces it and every consumer
 * (search index, MCP tools and resources, llms.txt) reads it.
 *
 * Sources differ in where pages come from (a Hugo JSON export, a folder of
 * Markdown, the embedded guide); once loaded they are all just this.
 */
export interface Page {
  /**
   * Stable, URL-safe identifier: lowercase path segments joined by `/`
   * (for example `docs/middleware/builtin/body-limit`). Used as the `id` of the
   * `search`/`fetch` tools and in `docs://<id>` resource URIs. Never contains
   * `..`, a leading `/`, or characters outside `[a-z0-9._/-]`.
   */
  id: string;
  title: string;
  /** Canonical public URL of the page, without a fragment. */
  url: string;
  /** The whole page body as Markdown, without front matter. */
  markdown: string;
  /** Optional one-line description (Hugo `summary`, front matter `description`). */
  summary?: string;
  tags?: string[];
  /** Optional grouping such as Hugo's `section`. */
  section?: string;
}

/** One part of a page between two headings; what the search index ranks. */
export interface Section {
  pageId: string;
  /** Heading text of the section; the page title for the part before the first heading. */
  heading: string;
  /** URL fragment for the heading (without `#`); empty for the part before the first heading. */
  anchor: string;
  /** Heading level 1–6; 0 for the part before the first heading. */
  level: number;
  /** Section body as Markdown, heading line excluded. */
  text: string;
}
