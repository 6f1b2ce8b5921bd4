/**
 * What AI assistants asked the documentation, for its owners: searches and
 * searches that found nothing, over a sliding window (24 hours in hourly
 * buckets by default), and the most frequent queries of each kind.
 *
 * Privacy is the design: a query is published only once at least
 * `minClients` distinct clients asked it (so one person's question is never
 * shown), clients are known only by a keyed hash that cannot be reversed
 * (client-hash.ts), and nothing older than the window is kept.
 */

/** One bucket of the window, as replicas also exchange it (shared-insights.ts). */
export interface Bucket {
  /** Start of the bucket, ms since the epoch (a multiple of the bucket length). */
  start: number;
  queries: number;
  zeroResults: number;
  /** By normalised query: asked `n` times, `z` of them without results, by the clients `c` (hashes, a few at most). */
  entries: Record<string, { n: number; z: number; c: string[] }>;
}

/** A query as the status page shows it. */
export interface TopQuery {
  query: string;
  count: number;
}

/** The window at a glance. */
export interface InsightsView {
  windowHours: number;
  queries: number;
  zeroResults: number;
  /** Most asked queries, by at least `minClients` clients each. */
  top: TopQuery[];
  /** Most asked queries that found nothing, likewise. */
  topZero: TopQuery[];
  minClients: number;
}

export interface QueryLogOptions {
  /** Window length; default 24 h. */
  windowMs?: number;
  /** Buckets in the window; default 24. */
  buckets?: number;
  /** Distinct clients a query needs before it is shown; default 3. */
  minClients?: number;
  /** Distinct queries kept per bucket, so that a flood of unique queries costs bounded memory; default 5,000. */
  maxQueriesPerBucket?: number;
  now?: () => number;
}

/** Longest normalised query kept: past this, a "query" is a pasted text. */
const MAX_QUERY_LENGTH = 200;

/**
 * A query as it is counted: Unicode-normalised (NFKC), lowercased,
 * whitespace collapsed, trailing `?`, `!` and `.` dropped, at most
 * {@link MAX_QUERY_LENGTH} characters. "How do I  set a Cookie?" and
 * "how do i set a cookie" are one query.
 */
export function normalizeQuery(query: string): string {
  return query.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim().replace(/[?!.\s]+$/, "").slice(0, MAX_QUERY_LENGTH);
}

export class QueryLog {
  readonly minClients: number;
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #maxQueries: number;
  readonly #now: () => number;
  readonly #live: Bucket[] = [];

  constructor(options: QueryLogOptions = {}) {
    const windowMs = options.windowMs ?? 86_400_000;
    this.#buckets = Math.max(1, options.buckets ?? 24);
    this.#bucketMs = Math.max(1, Math.floor(windowMs / this.#buckets));
    this.minClients = Math.max(1, options.minClients ?? 3);
    this.#maxQueries = options.maxQueriesPerBucket ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one search: its query, how many pages it found, and the hash of who asked. */
  record(query: string, results: number, clientHash: string): void {
    const bucket = this.#current();
    bucket.queries++;
    if (results === 0) bucket.zeroResults++;
    const text = normalizeQuery(query);
    if (text === "") return;
    let entry = bucket.entries[text];
    if (!entry) {
      // Past the cap only the counts grow: the window still says how many searches there were.
      if (Object.keys(bucket.entries).length >= this.#maxQueries) return;
      entry = bucket.entries[text] = { n: 0, z: 0, c: [] };
    }
    entry.n++;
    if (results === 0) entry.z++;
    // Enough hashes to know the threshold is reached when buckets are merged, no more.
    if (!entry.c.includes(clientHash) && entry.c.length < this.minClients * 2) entry.c.push(clientHash);
  }

  /** This process's buckets of the window, oldest first: what a replica shares. */
  buckets(): Bucket[] {
    this.#expire();
    return this.#live.map((bucket) => structuredClone(bucket));
  }

  /**
   * The window over this process's buckets and `others` (other replicas'),
   * with the top `limit` queries of each kind.
   */
  view(limit = 10, others: readonly Bucket[] = []): InsightsView {
    this.#expire();
    const oldest = this.#now() - this.#bucketMs * this.#buckets;
    const all = [...this.#live, ...others.filter((bucket) => bucket.start > oldest - this.#bucketMs)];
    const merged = new Map<string, { n: number; z: number; c: Set<string> }>();
    let queries = 0;
    let zeroResults = 0;
    for (const bucket of all) {
      queries += bucket.queries;
      zeroResults += bucket.zeroResults;
      for (const [text, entry] of Object.entries(bucket.entries)) {
        let total = merged.get(text);
        if (!total) merged.set(text, (total = { n: 0, z: 0, c: new Set() }));
        total.n += entry.n;
        total.z += entry.z;
        for (const client of entry.c) total.c.add(client);
      }
    }
    const shown = [...merged].filter(([, total]) => total.c.size >= this.minClients);
    const top = (count: (total: { n: number; z: number }) => number) =>
      shown
        .map(([query, total]) => ({ query, count: count(total) }))
        .filter((item) => item.count > 0)
        .sort((a, b) => b.count - a.count || a.query.localeCompare(b.query))
        .slice(0, limit);
    return {
      windowHours: Math.round((this.#bucketMs * this.#buckets) / 3_600_000),
      queries,
      zeroResults,
      top: top((total) => total.n),
      topZero: top((total) => total.z),
      minClients: this.minClients,
    };
  }

  #current(): Bucket {
    const start = Math.floor(this.#now() / this.#bucketMs) * this.#bucketMs;
    let bucket = this.#live.at(-1);
    if (!bucket || bucket.start !== start) {
      this.#live.push((bucket = { start, queries: 0, zeroResults: 0, entries: {} }));
      this.#expire();
    }
    return bucket;
  }

  /** Drops buckets that slid out of the window. */
  #expire(): void {
    const oldest = Math.floor(this.#now() / this.#bucketMs) * this.#bucketMs - this.#bucketMs * (this.#buckets - 1);
    while (this.#live.length > 0 && this.#live[0]!.start < oldest) this.#live.shift();
  }
}
