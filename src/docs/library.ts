import type { Page } from "./page.ts";
import type { DocsSource } from "./source.ts";
import type { Logger } from "../log/index.ts";
import type { SearchHit } from "../search/index.ts";
import { DocSet, type DocSetStatus } from "./doc-set.ts";
import { idPrefix, setKey } from "./doc-sets.ts";
import { searchSets, type SetSearch, type SetSearchResult } from "./set-search.ts";

export type { Snapshot } from "./doc-set.ts";
export type { SetSearch, SetSearchResult, SetHit } from "./set-search.ts";

/** What is being served right now, over every set: their pages, one consistent view. */
export interface LibrarySnapshot {
  pages: readonly Page[];
  byId: ReadonlyMap<string, Page>;
  /** Text made from these pages (see {@link Library.rendered}), built on first use. */
  rendered: Map<string, Blob>;
}

/** Library state for `/healthz` and the status page. */
export interface LibraryStatus extends DocSetStatus {
  /** Each set's own state, when several named sets are served. */
  sets?: DocSetStatus[];
}

/** One source, as `MCP_DOCS_SOURCE` configures it: the server as it always was. */
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

/** Named sets, as `MCP_DOCS_SOURCES` configures them. */
export interface NamedSetsOptions {
  sets: { name: string; version?: string; source: DocsSource; refreshMs: number }[];
  logger: Logger;
  /** Title of the whole server; the sets' names otherwise. */
  title?: string;
  onSearch?: (seconds: number) => void;
}

/**
 * The documentation being served: the one façade the MCP and HTTP layers
 * use, over one set (`MCP_DOCS_SOURCE`, exactly as before: page ids as the
 * source makes them) or several named ones (`MCP_DOCS_SOURCES`). Each set has
 * its own source, refresh timer and last good copy, and swaps its index in
 * whole; with several sets, page ids start with the set's
 * {@link idPrefix} (`hono/4/docs/api/context`), so ids and `docs://` URIs
 * stay unique and stable across sets.
 */
export class Library {
  readonly title: string;
  /** Whether the sets have names (`MCP_DOCS_SOURCES`): results then say which set they come from. */
  readonly named: boolean;
  readonly sets: readonly DocSet[];
  readonly #onSearch?: (seconds: number) => void;
  /** The combined view of several sets, rebuilt on first use after any set changed. */
  #combined: LibrarySnapshot | undefined;

  constructor(options: LibraryOptions | NamedSetsOptions) {
    this.#onSearch = options.onSearch;
    if ("source" in options) {
      this.named = false;
      this.sets = [new DocSet({ source: options.source, logger: options.logger, title: options.title, refreshMs: options.refreshMs })];
      this.title = this.sets[0]!.title;
    } else {
      this.named = true;
      this.sets = options.sets.map(
        (set) =>
          new DocSet({
            source: options.sets.length > 1 ? namespaced(set.source, idPrefix(set)) : set.source,
            name: set.name,
            version: set.version,
            title: setKey(set),
            refreshMs: set.refreshMs,
            logger: options.logger.child(setKey(set)),
          }),
      );
      this.title = options.title ?? this.sets.map((set) => set.title).join(", ");
    }
    for (const set of this.sets) set.onReplaced(() => (this.#combined = undefined));
  }

  /** The pages in service over every set, or `undefined` before any set has loaded. */
  get snapshot(): LibrarySnapshot | undefined {
    if (this.sets.length === 1) return this.sets[0]!.snapshot;
    if (this.#combined) return this.#combined;
    const loaded = this.sets.flatMap((set) => (set.snapshot ? [set.snapshot] : []));
    if (loaded.length === 0) return undefined;
    const pages = loaded.flatMap((snapshot) => snapshot.pages);
    this.#combined = { pages, byId: new Map(pages.map((page) => [page.id, page])), rendered: new Map() };
    return this.#combined;
  }

  /**
   * Resolves `true` once documentation is in service, `false` after
   * `timeoutMs`. With several sets, waits until each has tried its first
   * load (a set whose source is down holds up nobody), and is `true` when
   * any of them serves.
   */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.sets.length === 1) return this.sets[0]!.whenReady(timeoutMs);
    if (this.snapshot && this.sets.every((set) => set.snapshot)) return true;
    const settled = await Promise.all(this.sets.map((set) => set.whenSettled(timeoutMs)));
    return settled.some(Boolean) || (await Promise.race(this.sets.map((set) => set.whenReady(timeoutMs))));
  }

  /** Calls `listener` each time any set swaps in a new index. @returns the function that stops the calls. */
  onReplaced(listener: () => void): () => void {
    const stops = this.sets.map((set) => set.onReplaced(listener));
    return () => stops.forEach((stop) => stop());
  }

  /** Text made from the pages in service, built once per index (see {@link DocSet.rendered}). */
  rendered(key: string, build: (pages: readonly Page[]) => string): Blob {
    if (this.sets.length === 1) return this.sets[0]!.rendered(key, build);
    const snapshot = this.snapshot;
    if (!snapshot) return new Blob([build([])]);
    let blob = snapshot.rendered.get(key);
    if (!blob) snapshot.rendered.set(key, (blob = new Blob([build(snapshot.pages)])));
    return blob;
  }

  page(id: string): Page | undefined {
    if (this.sets.length === 1) return this.sets[0]!.page(id);
    return this.sets.find((set) => id.startsWith(idPrefix(set as { name: string; version?: string })))?.page(id);
  }

  /** The hits of {@link find} over the default sets. */
  search(query: string, limit?: number): SearchHit[] {
    return this.find(query, { limit }).hits;
  }

  /**
   * The `search` tool's search: over the sets asked for (by default the
   * newest version of each name), typo-tolerant, stopword-aware (see
   * {@link searchSets}).
   *
   * @throws UnknownSetError naming the sets that exist, for a source or version nobody serves.
   */
  find(query: string, options: SetSearch = {}): SetSearchResult {
    const started = performance.now();
    const result = searchSets(this.sets, query, options);
    this.#onSearch?.((performance.now() - started) / 1000);
    return result;
  }

  /**
   * Loads every set's source now and swaps in what changed. Never throws.
   * @returns whether any set's documentation changed.
   */
  async refresh(): Promise<boolean> {
    const changed = await Promise.all(this.sets.map((set) => set.refresh()));
    return changed.some(Boolean);
  }

  /** Starts each set's own refresh timer. */
  startRefreshing(): void {
    for (const set of this.sets) set.startRefreshing();
  }

  stopRefreshing(): void {
    for (const set of this.sets) set.stopRefreshing();
  }

  status(now = new Date()): LibraryStatus {
    if (this.sets.length === 1) return { ...this.sets[0]!.status(now), title: this.title };
    const sets = this.sets.map((set) => set.status(now));
    const ages = sets.flatMap((set) => (set.indexAgeSeconds === undefined ? [] : [set.indexAgeSeconds]));
    const latest = (values: (string | undefined)[]) => values.filter((v): v is string => v !== undefined).sort().at(-1);
    const errors = sets.flatMap((set) => (set.lastRefreshError ? [`${setKey(set as { name: string })}: ${set.lastRefreshError}`] : []));
    return {
      source: sets.map((set) => `${setKey(set as { name: string })}=${set.source}`).join(", "),
      title: this.title,
      pages: sets.reduce((sum, set) => sum + set.pages, 0),
      sections: sets.reduce((sum, set) => sum + set.sections, 0),
      indexedAt: latest(sets.map((set) => set.indexedAt)),
      // The oldest index in service: what a stale source shows first.
      indexAgeSeconds: ages.length ? Math.max(...ages) : undefined,
      lastRefreshAt: latest(sets.map((set) => set.lastRefreshAt)),
      lastRefreshError: errors.length ? errors.join("; ") : undefined,
      sets,
    };
  }

  close(): void {
    for (const set of this.sets) set.close();
    this.#combined = undefined;
  }
}

/**
 * A source whose page ids start with `prefix`, so that ids of several sets
 * never collide. The prefix is made of id characters (see doc-sets.ts), so
 * the ids stay valid.
 */
function namespaced(source: DocsSource, prefix: string): DocsSource {
  return {
    description: source.description,
    defaultTitle: source.defaultTitle,
    async load() {
      const result = await source.load();
      if (!result) return undefined;
      return { ...result, pages: result.pages.map((page) => ({ ...page, id: prefix + page.id })) };
    },
  };
}
