import { DEFAULT_LIMIT, MAX_LIMIT, type SearchHit, type SearchIndex } from "../search/index.ts";
import { correctQuery, isStopwordsOnly, type WordCorrection } from "../search/spelling.ts";
import { compareVersionsNewestFirst, setKey } from "./doc-sets.ts";

/**
 * The `search` tool's search over documentation sets: which sets to search
 * (by `source` and `version`), typo correction when words are unknown, and
 * no search at all for a query of stop words only.
 */

/** A set as searching needs it. */
export interface SearchableSet {
  readonly name?: string;
  readonly version?: string;
  readonly index: SearchIndex | undefined;
}

export interface SetSearch {
  /** A set's name (`hono`); every name when absent. */
  source?: string;
  /** A version (`4`, `4.2`; `4` also finds `4.2`); the newest of each name when absent. */
  version?: string;
  limit?: number;
}

/** A hit and the set it comes from (named sets only). */
export interface SetHit extends SearchHit {
  source?: string;
  version?: string;
}

export interface SetSearchResult {
  hits: SetHit[];
  /** The query actually searched, when unknown words were corrected. */
  correctedQuery?: string;
  corrections?: WordCorrection[];
  /** The query held only stop words ("how to"): nothing was searched. */
  stopwordsOnly?: boolean;
}

/** A `source` or `version` no set has. Its message lists what exists, for the model to pick from. */
export class UnknownSetError extends Error {
  override name = "UnknownSetError";
}

/**
 * Searches the chosen sets and merges their hits by score (each index scores
 * with BM25 and the same coverage factor, so a set the question is not about
 * scores low). When a word matches nothing in any chosen set, the query is
 * retried with corrected words, and kept corrected only if that finds pages.
 *
 * @throws UnknownSetError for a source or version that no set has.
 */
export function searchSets(sets: readonly SearchableSet[], query: string, options: SetSearch = {}): SetSearchResult {
  const chosen = chooseSets(sets, options);
  if (isStopwordsOnly(query)) return { hits: [], stopwordsOnly: true };
  const indexes = chosen.flatMap((set) => (set.index ? [set.index] : []));
  const hits = searchChosen(chosen, query, options.limit);
  const correction = correctQuery(query, indexes);
  if (!correction) return { hits };
  const corrected = searchChosen(chosen, correction.text, options.limit);
  if (corrected.length === 0) return { hits };
  return { hits: corrected, correctedQuery: correction.text, corrections: correction.changes };
}

function searchChosen(sets: readonly SearchableSet[], query: string, limit: number | undefined): SetHit[] {
  if (sets.length === 1) return tagged(sets[0]!, sets[0]!.index?.search(query, { limit }) ?? []);
  const hits = sets.flatMap((set) => tagged(set, set.index?.search(query, { limit }) ?? []));
  // Stable: equal scores keep the sets' configured order.
  return hits.sort((a, b) => b.score - a.score).slice(0, Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit ?? DEFAULT_LIMIT))));
}

function tagged(set: SearchableSet, hits: SearchHit[]): SetHit[] {
  if (!set.name) return hits;
  return hits.map((hit) => ({ ...hit, source: set.name, ...(set.version ? { version: set.version } : {}) }));
}

/**
 * The sets a search covers: those named `source` (all names without it),
 * of `version` (exactly, else as a prefix at a dot: `4` is `4.2`), keeping
 * per name only the newest version that fits.
 *
 * @throws UnknownSetError naming what exists.
 */
export function chooseSets<T extends SearchableSet>(sets: readonly T[], options: Pick<SetSearch, "source" | "version">): T[] {
  if (!sets.some((set) => set.name)) return [...sets];
  const source = options.source?.trim().toLowerCase() || undefined;
  const version = options.version?.trim().toLowerCase() || undefined;
  const known = sets.map((set) => setKey(set as { name: string; version?: string })).join(", ");
  let candidates = source ? sets.filter((set) => set.name === source) : [...sets];
  if (candidates.length === 0) throw new UnknownSetError(`No documentation set is named ${JSON.stringify(source)}. The sets are: ${known}.`);
  if (version) {
    const exact = candidates.filter((set) => set.version === version);
    const prefixed = candidates.filter((set) => set.version?.startsWith(`${version}.`));
    candidates = exact.length > 0 ? exact : prefixed;
    if (candidates.length === 0) {
      const what = source ? `${source} has no version ${JSON.stringify(version)}` : `No set has the version ${JSON.stringify(version)}`;
      throw new UnknownSetError(`${what}. The sets are: ${known}.`);
    }
  }
  const newest = new Map<string | undefined, T>();
  for (const set of candidates) {
    const kept = newest.get(set.name);
    if (!kept || compareVersionsNewestFirst(set.version, kept.version) < 0) newest.set(set.name, set);
  }
  return candidates.filter((set) => newest.get(set.name) === set);
}
