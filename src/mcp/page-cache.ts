import type { Page } from "../docs/page.ts";

/** A fetch result for a page, written as JSON once, and that JSON escaped once more as a string (for the text item). */
export interface WrittenPage {
  output: Record<string, unknown>;
  json: string;
  escaped: string;
}

/**
 * The first part of recently fetched pages, written as JSON, kept within a
 * byte budget (least recently used out first). Writing a page of Markdown
 * as JSON twice is most of what a `fetch` costs, and the same pages are
 * asked for again and again by one assistant after another; the index they
 * come from never changes while it is served. Keyed by the page object, so
 * a refreshed index (new page objects) never meets an old entry: those age
 * out. Only offset 0 is kept: later parts are rarer, and arbitrary offsets
 * must not be a way to fill the cache.
 */
export class PageCache {
  readonly #entries = new Map<Page, WrittenPage>();
  readonly #budget: number;
  #bytes = 0;

  constructor(budgetBytes = 16 * 1024 * 1024) {
    this.#budget = budgetBytes;
  }

  /** The page's first part as written JSON, building it with `build` on a miss. */
  firstPart(page: Page, build: () => Record<string, unknown>): WrittenPage {
    const hit = this.#entries.get(page);
    if (hit) {
      this.#entries.delete(page);
      this.#entries.set(page, hit);
      return hit;
    }
    const output = build();
    const json = JSON.stringify(output);
    const written = { output, json, escaped: JSON.stringify(json) };
    const size = (json.length + written.escaped.length) * 2; // UTF-16, roughly
    if (size > this.#budget) return written;
    this.#entries.set(page, written);
    this.#bytes += size;
    for (const [old, entry] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(old);
      this.#bytes -= (entry.json.length + entry.escaped.length) * 2;
    }
    return written;
  }
}
