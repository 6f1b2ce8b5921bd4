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

/** One set's state for `/healthz` and the status page. */
export interface DocSetStatus {
  /** The set's name and version, when several named sets are served (`MCP_DOCS_SOURCES`). */
  name?: string;
  version?: string;
  source: string;
  title: string;
  pages: number;
  sections: number;
  indexedAt?: string;
  indexAgeSeconds?: number;
  lastRefreshAt?: string;
  lastRefreshError?: string;
}

export interface DocSetOptions {
  source: DocsSource;
  /** Name and version, for sets configured with `MCP_DOCS_SOURCES`. */
  name?: string;
  version?: string;
  logger: Logger;
  /** Title set by the user; the source's own name otherwise. */
  title?: string;
  /** Check the source for changes this often; 0 never. */
  refreshMs: number;
  /** Told how long each search took, in seconds (metrics). */
  onSearch?: (seconds: number) => void;
}

/**
 * One documentation set, kept fresh: its source, its refresh timer and its
 * index. A refresh builds a complete new index beside the current one and
 * swaps it in whole, so a search never sees half of an update; a refresh
 * that fails keeps the last good snapshot. The {@link Library} serves one or
 * several of these.
 */
export class DocSet {
  readonly title: string;
  readonly name?: string;
  readonly version?: string;
  #snapshot: Snapshot | undefined;
  #timer: Timer | undefined;
  #lastRefreshAt: Date | undefined;
  #lastError: string | undefined;
  #failures = 0;
  #settled = false;
  #refreshing: Promise<boolean> | undefined;
  #closed = false;
  /** Waiters for the first index or the first failure; each says whether it is done (and then resolved). */
  #readyWaiters: (() => boolean)[] = [];
  readonly #replacedListeners = new Set<() => void>();
  readonly #log: Logger;

  constructor(private readonly options: DocSetOptions) {
    this.title = options.title ?? options.source.defaultTitle;
    this.name = options.name;
    this.version = options.version;
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
    return this.#waitFor(timeoutMs, () => this.#snapshot !== undefined);
  }

  /**
   * Resolves once the first load has been tried (served or failed), `true`
   * if documentation is in service then; `false` after `timeoutMs`. A set
   * whose source is down must not hold up the others' answers.
   */
  whenSettled(timeoutMs: number): Promise<boolean> {
    return this.#waitFor(timeoutMs, () => this.#settled || this.#snapshot !== undefined).then(() => this.#snapshot !== undefined);
  }

  #waitFor(timeoutMs: number, done: () => boolean): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((waiter) => waiter !== check);
        resolve(false);
      }, timeoutMs);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        resolve(true);
        return true;
      };
      this.#readyWaiters.push(check);
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
      this.#settled = true;
      if (!result) {
        this.#lastError = undefined;
        this.#log.debug("documentation unchanged", { source: this.options.source.description });
        return false;
      }
      // A refresh builds gradually: a large set takes seconds to index, and
      // searches keep being answered from the current index meanwhile. The
      // first index is built at once: there is nothing to answer from yet.
      const index =
        (result.prebuiltIndex && SearchIndex.restore(result.prebuiltIndex, result.pages)) ||
        (this.#snapshot ? await SearchIndex.buildGradually(result.pages) : SearchIndex.build(result.pages));
      if (this.#closed) {
        // Closed while the index was being built: nothing serves it.
        index.close();
        return false;
      }
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
      this.#wake();
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
      this.#settled = true;
      this.#wake();
      this.#lastError = (error as Error).message;
      this.#log.warn(this.#snapshot ? "documentation refresh failed; keeping the last good index" : "documentation could not be loaded", {
        source: this.options.source.description,
        reason: this.#lastError,
      });
      return false;
    }
  }

  /** Resolves the waiters that are done now; keeps the rest. */
  #wake(): void {
    this.#readyWaiters = this.#readyWaiters.filter((check) => !check());
  }

  /** The index in service, for the speller's vocabulary; `undefined` before the first load. */
  get index(): SearchIndex | undefined {
    return this.#snapshot?.index;
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

  status(now = new Date()): DocSetStatus {
    const snapshot = this.#snapshot;
    return {
      ...(this.name ? { name: this.name } : {}),
      ...(this.version ? { version: this.version } : {}),
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
    this.#closed = true;
    this.stopRefreshing();
    this.#snapshot?.index.close();
    this.#snapshot = undefined;
  }
}
