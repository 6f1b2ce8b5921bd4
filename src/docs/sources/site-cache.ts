import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "../page.ts";
import type { Validators } from "./site-fetch.ts";
import { removeStaleTempFiles, writeFileAtomic } from "../../storage/atomic-file.ts";

/**
 * The last good copy of a website source (llms.txt, sitemap.xml): every
 * fetched document with its validators and the pages made of it, in one
 * file under the source's cache directory. It serves twice: a refresh
 * revalidates each document with its validators (an unchanged one costs a
 * 304 and is not converted again), and a start without network serves the
 * copy, with a warning, as the Hugo remote source does.
 */

/** One fetched document: its validators and the pages made of it. */
export interface CachedDocument {
  validators: Validators;
  pages: Page[];
  /** The document's own text, when later loads read it again (an llms.txt index, a sitemap). */
  text?: string;
}

export interface SiteCopy {
  savedAt: string;
  /** By URL, in the order they were read. */
  documents: Record<string, CachedDocument>;
}

export class SiteCache {
  readonly #dir: string;
  readonly #path: string;
  #cleaned = false;

  /** @param key names the file: a hash of the source URL, so two sources never share a copy. */
  constructor(dir: string, key: string) {
    this.#dir = dir;
    this.#path = join(dir, `${key}.site.json`);
  }

  /** The saved copy, or `undefined` when there is none or it cannot be read (then it is as good as none). */
  async read(): Promise<SiteCopy | undefined> {
    if (!this.#cleaned) {
      this.#cleaned = true;
      // Half-written copies of a process that was killed mid-save.
      await removeStaleTempFiles(this.#dir).catch(() => 0);
    }
    try {
      const copy = JSON.parse(await readFile(this.#path, "utf8")) as SiteCopy;
      return copy && typeof copy.documents === "object" ? copy : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Saves a copy atomically (readers and the next start see the old copy or the new one).
   * @throws on I/O failure (a full disk): the caller serves the pages anyway and says so.
   */
  async write(documents: Record<string, CachedDocument>): Promise<void> {
    await writeFileAtomic(this.#path, JSON.stringify({ savedAt: new Date().toISOString(), documents } satisfies SiteCopy));
  }
}

/** A short stable key for a URL, for file names. */
export function urlKey(url: string): string {
  return new Bun.CryptoHasher("sha256").update(url).digest("hex").slice(0, 16);
}
