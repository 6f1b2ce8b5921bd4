import type { Page } from "./page.ts";
import type { DocsSource } from "./source.ts";
import type { Logger } from "../log/index.ts";
import { SearchIndex, type SearchHit } from "../search/index.ts";

/** What is being served right now: one consistent set of pages and their index. */
export interface Snapshot {
  pages: readonly Page[];
  byId: ReadonlyMap<string, Page>;
  index: SearchIndex;
  indexedAt: Date;
  /** Text made from these pages (see {@link Library.rendered}), built on first use. */
  rendered: Map<string, Blob>;
}

/** Library state for `/healthz` and the status page. */
export interface LibraryStatus {
  source: string;
  title: string;
  pages: number;
  sections: number;
  indexedAt?: string;
  indexAgeSeconds?: number;
  lastRefreshAt?: string;
  lastRefreshError?: string;
}

export interface LibraryOptions {
  source: DocsSource;
  logger: Logger;
  /** Title set by the user; the source's own name otherwise. */
  title?: string;
  /** Check the source for changes this often; 0 never. */
  refreshMs: number;
  /** Told how long each search took, in seconds (metrics). */
  onSearch?: (seconds: number) => void;
}

/**
 * The documentation being served, kept fresh. A refresh builds a complete new
 * index beside the current one and swaps it in whole, so a search never sees
 * half of an update; a refresh that fails keeps the last good snapshot.
 */
export class Library {
  readonly title: string;
  #snapshot: Snapshot | undefined;
  #timer: Timer | undefined;
  #lastRefreshAt: Date | undefined;
  #lastError: string | undefined;
  #failures = 0;
  #refreshing: Promise<boolean> | undefined;
  #readyWaiters: (() => void)[] = [];
  readonly #replacedListeners = new Set<() => void>();
  readonly #log: Logger;

  constructor(private readonly options: LibraryOptions) {
    this.title = options.title ?? options.source.defaultTitle;
    this.#log = options.logger;
  }

  /** The pages and index in service, or `undefined` before the first successful load. */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  /**
   * Resolves `true` once documentation is in service, or `false` after
   * `timeoutMs`. The server answers MCP before its first index is built (a
   * faster cold start); requests that need the documentation wait here.
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.#snapshot) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#readyWaiters.push(done);
    });
  }

  /**
   * Calls `listener` each time a new index is swapped in (the first load
   * too), so clients can be told the resource list changed.
   *
   * @returns the function that stops the calls.
   */
  onReplaced(listener: () => void): () => void {
    this.#replacedListeners.add(listener);
    return () => this.#replacedListeners.delete(listener);
  }

  /**
   * Text made from the index in service (llms-full.txt, a page's Markdown),
   * built the first time it is asked for and kept as long as that index is
   * served: a hundred readers of a 10 MB llms-full.txt share one copy instead
   * of building a hundred. A `Blob`, because it is immutable: Bun sends the
   * same bytes to every response, where a `Uint8Array` body is copied for
   * each one (measured: 50 readers of 10 MiB, +475 MiB as arrays, +1 MiB as
   * one Blob). Before the first index, built each time (from nothing).
   */
  rendered(key: string, build: (pages: readonly Page[]) => string): Blob {
    const snapshot = this.#snapshot;
    if (!snapshot) return new Blob([build([])]);
    let blob = snapshot.rendered.get(key);
    if (!blob) snapshot.rendered.set(key, (blob = new Blob([build(snapshot.pages)])));
    return blob;
  }

  page(id: string): Page | undefined {
    return this.#snapshot?.byId.get(id);
  }

  search(query: string, limit?: number): SearchHit[] {
    const started = performance.now();
    const hits = this.#snapshot?.index.search(query, { limit }) ?? [];
    this.options.onSearch?.((performance.now() - started) / 1000);
    return hits;
  }

  /**
   * Loads the source now and swaps in the new index if it changed.
   * Concurrent calls share one load. Never throws: failures are logged and
   * reported in `status().lastRefreshError`.
   *
   * @returns whether the documentation in service changed.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    const started = performance.now();
    this.#lastRefreshAt = new Date();
    try {
      const result = await this.options.source.load();
      this.#failures = 0;
      if (!result) {
        this.#lastError = undefined;
        this.#log.debug("documentation unchanged", { source: this.options.source.description });
        return false;
      }
      const index = SearchIndex.build(result.pages);
      const previous = this.#snapshot;
      this.#snapshot = {
        pages: result.pages,
        byId: new Map(result.pages.map((page) => [page.id, page])),
        index,
        indexedAt: new Date(),
        rendered: new Map(),
      };
      // Searches run synchronously, so none can still be using the old index.
      previous?.index.close();
      for (const resolve of this.#readyWaiters.splice(0)) resolve();
      for (const listener of this.#replacedListeners) {
        try {
          listener();
        } catch (error) {
          this.#log.warn("a listener for index changes failed", { error: error as Error });
        }
      }
      this.#lastError = result.warning;
      if (result.warning) this.#log.warn("documentation indexed, with a warning", { source: this.options.source.description, reason: result.warning });
      this.#log.info("documentation indexed", {
        source: this.options.source.description,
        pages: index.pageCount,
        sections: index.sectionCount,
        skipped: result.skipped || undefined,
        ms: Math.round(performance.now() - started),
      });
      return true;
    } catch (error) {
      this.#failures++;
      this.#lastError = (error as Error).message;
      this.#log.warn(this.#snapshot ? "documentation refresh failed; keeping the last good index" : "documentation could not be loaded", {
        source: this.options.source.description,
        reason: this.#lastError,
      });
      return false;
    }
  }

  /**
   * Checks the source every `refreshMs`. While nothing could be loaded yet,
   * retries sooner (from 5 s, doubling) so a server started during a network
   * outage comes up as soon as the source is back.
   */
  startRefreshing(): void {
    this.stopRefreshing();
    const { refreshMs } = this.options;
    if (refreshMs <= 0 && this.#snapshot) return;
    const delay = this.#snapshot ? refreshMs : Math.min(refreshMs || Infinity, 5_000 * 2 ** Math.min(this.#failures, 6));
    this.#timer = setTimeout(async () => {
      await this.refresh();
      this.startRefreshing();
    }, delay);
    this.#timer.unref?.();
  }

  stopRefreshing(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  status(now = new Date()): LibraryStatus {
    const snapshot = this.#snapshot;
    return {
      source: this.options.source.description,
      title: this.title,
      pages: snapshot?.index.pageCount ?? 0,
      sections: snapshot?.index.sectionCount ?? 0,
      indexedAt: snapshot?.indexedAt.toISOString(),
      indexAgeSeconds: snapshot ? Math.round((now.getTime() - snapshot.indexedAt.getTime()) / 1000) : undefined,
      lastRefreshAt: this.#lastRefreshAt?.toISOString(),
      lastRefreshError: this.#lastError,
    };
  }

  close(): void {
    this.stopRefreshing();
    this.#snapshot?.index.close();
    this.#snapshot = undefined;
  }
}
