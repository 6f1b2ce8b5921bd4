/**
 * Bun macro (imported `with { type: "macro" }` by embedded-source.ts): runs
 * when the server is bundled or transpiled, never when it runs. It indexes
 * the embedded guide and returns the index's snapshot as base64, so that a
 * cold start restores an index instead of building one (building costs some
 * 50 ms in a fresh process, where nothing is compiled yet).
 */
import { SearchIndex } from "../search/index.ts";
import { guidePages } from "./guide-pages.ts";

export function guideIndexSnapshot(): string {
  // The base URL is no part of the index: restore() takes URLs from the pages it is given.
  const pages = guidePages("http://localhost/docs/");
  const index = SearchIndex.build(pages);
  try {
    return Buffer.from(index.snapshot(pages)).toString("base64");
  } finally {
    index.close();
  }
}
