/**
 * The shared documentation corpora (Hugo JSON exports of real docs) as
 * {@link Page}s, for tests and benchmarks. See /work/shared/corpora/README.md.
 */
import type { Page } from "../../src/docs/page.ts";

export type CorpusName = "hono" | "dtz";

/** Where the corpora live; `DOCS_CORPORA_DIR` overrides the checkout-relative default. */
export const CORPORA_DIR: string =
  process.env["DOCS_CORPORA_DIR"] ?? new URL("../../../shared/corpora/", import.meta.url).pathname;

const FILES: Record<CorpusName, string> = {
  hono: "hono-docs.hugo.json",
  dtz: "dtz-docs.hugo.json",
};

interface HugoEntry {
  title: string;
  permalink: string;
  contents: string;
}

/** Loads a corpus; pages keep the file's order. */
export async function loadCorpus(name: CorpusName): Promise<Page[]> {
  const entries = (await Bun.file(`${CORPORA_DIR.replace(/\/?$/, "/")}${FILES[name]}`).json()) as HugoEntry[];
  return entries.map(hugoEntryToPage);
}

/**
 * id = the permalink's path without leading/trailing slash, lowercased
 * (`https://hono.dev/docs/api/context` → `docs/api/context`); the site root,
 * whose path is empty, becomes `index`.
 */
export function hugoEntryToPage(entry: HugoEntry): Page {
  const path = new URL(entry.permalink).pathname.replace(/^\/+|\/+$/g, "").toLowerCase();
  return { id: path || "index", title: entry.title, url: entry.permalink, markdown: entry.contents };
}
