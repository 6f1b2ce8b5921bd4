/**
 * The words an index holds, as people write them: what typo correction
 * (spelling.ts) draws its suggestions from.
 *
 * Why not FTS5's own `fts5vocab`: the index stems (porter), so its vocabulary
 * is `configur`, `grace`, `renew`; a misspelled `configre` is far from
 * `configur`, and "showing results for configur" would read oddly. The words
 * are read back from the stored text instead, once per index and only when
 * a correction is first needed, so indexing and ordinary searches pay nothing.
 */

/** A word of the unicode61 tokenizer, roughly: letters, digits, marks. */
const WORD = /[\p{L}\p{M}][\p{L}\p{N}\p{M}]*/gu;
/** Words shorter than this are never corrected, so they need not be suggested either. */
export const MIN_WORD_LENGTH = 4;
/** Longer runs are identifiers glued together or noise, not words anyone misspells. */
const MAX_WORD_LENGTH = 40;

/**
 * Counts, for each lowercase word of at least {@link MIN_WORD_LENGTH}
 * letters, the number of texts (sections) it occurs in.
 */
export function buildVocabulary(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  for (const text of texts) {
    seen.clear();
    for (const [match] of text.matchAll(WORD)) {
      if (match.length < MIN_WORD_LENGTH || match.length > MAX_WORD_LENGTH) continue;
      const word = match.toLowerCase();
      if (seen.has(word)) continue;
      seen.add(word);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return counts;
}
