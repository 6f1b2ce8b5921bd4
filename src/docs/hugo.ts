import * as v from "valibot";
import type { Page } from "./page.ts";
import { idFromPermalink, uniqueIds } from "./ids.ts";

/**
 * The Hugo JSON index: an array of `{title, permalink, contents}` objects as
 * a Hugo site exports them with a custom output format. Extra fields
 * (`summary`, `description`, `tags`, `section`) are used when present.
 */

const entrySchema = v.object({
  title: v.pipe(v.string(), v.trim()),
  permalink: v.pipe(v.string(), v.trim(), v.minLength(1)),
  contents: v.string(),
  summary: v.optional(v.nullable(v.string())),
  description: v.optional(v.nullable(v.string())),
  tags: v.optional(v.nullable(v.array(v.string()))),
  section: v.optional(v.nullable(v.string())),
});

/** The result of reading an index: its pages and how many entries were skipped as malformed. */
export interface HugoIndex {
  pages: Page[];
  skipped: number;
}

/**
 * Parses the text of a Hugo JSON index.
 *
 * @throws Error with a one-line reason when the text is not JSON, not an
 * array, or holds no usable entry; a few malformed entries among good ones
 * are skipped and counted instead, so one bad page does not hide the rest.
 */
export function parseHugoIndex(text: string): HugoIndex {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const start = text.trimStart().slice(0, 15).toLowerCase();
    if (start.startsWith("<!doctype") || start.startsWith("<html")) throw new Error("got an HTML page, not a Hugo JSON index");
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error("not a Hugo JSON index: expected an array of {title, permalink, contents}");
  const pages: Page[] = [];
  let skipped = 0;
  for (const item of data) {
    const entry = v.safeParse(entrySchema, item);
    if (!entry.success || entry.output.contents.trim() === "") {
      skipped++;
      continue;
    }
    const e = entry.output;
    const id = idFromPermalink(e.permalink);
    pages.push({
      id,
      title: e.title || id,
      url: e.permalink,
      markdown: e.contents.trim(),
      summary: e.summary?.trim() || e.description?.trim() || undefined,
      tags: e.tags ?? undefined,
      section: e.section ?? undefined,
    });
  }
  if (pages.length === 0) throw new Error(`no usable page among ${data.length} entries (each needs title, permalink and contents)`);
  return { pages: uniqueIds(pages), skipped };
}
