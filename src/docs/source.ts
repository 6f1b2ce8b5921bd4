import type { Page } from "./page.ts";

/**
 * Where documentation comes from. One adapter per kind: the embedded guide,
 * a Hugo JSON file, a Markdown folder, a remote Hugo JSON index.
 */
export interface DocsSource {
  /** What the source is, for logs and `/healthz` (a path or URL; never credentials). */
  readonly description: string;
  /** A name for the documentation when the user set none. */
  readonly defaultTitle: string;
  /**
   * Reads the pages. Returns `undefined` when nothing changed since the last
   * successful load (so the index is not rebuilt for nothing).
   *
   * A result may carry a `warning`: the pages are usable but not fresh (a
   * remote source serving its cached copy because the fetch failed).
   *
   * @throws Error with a one-line reason when no usable pages could be read;
   * the caller keeps whatever it served before.
   */
  load(): Promise<LoadResult | undefined>;
}

export interface LoadResult {
  pages: Page[];
  /** Malformed entries that were left out. */
  skipped?: number;
  /** A snapshot of these pages' index, made beforehand (the embedded guide's): restored instead of built when it fits them. */
  prebuiltIndex?: Uint8Array;
  warning?: string;
}
