/**
 * The documentation corpora in the repository (Hugo JSON exports of real
 * docs) as {@link Page}s, for tests and benchmarks. Origin and licences:
 * test/fixtures/corpora/README.md.
 */
import type { Page } from "../../src/docs/page.ts";

export type CorpusName = "hono" | "dtz";

/** Where the corpora live: inside the repository, so any clone has them. */
export const CORPORA_DIR: string = new URL("../fixtures/corpora/", import.meta.url).pathname;

export const CORPUS_FILES: Record<CorpusName, string> = {
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
  const entries = (await Bun.file(corpusPath(name)).json()) as HugoEntry[];
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

/** The path of a corpus file, for tests that hand it to the server as a source. */
export function corpusPath(name: CorpusName): string {
  return CORPORA_DIR + CORPUS_FILES[name];
}
