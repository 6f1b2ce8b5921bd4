/**
 * The words inside camelCase and PascalCase identifiers.
 *
 * FTS5's unicode61 tokenizer splits `snake_case` and `kebab-case` but keeps
 * `bodyLimit` as the single token `bodylimit`, so a question about "body
 * limit" would never meet the code that answers it. Indexing the parts as
 * well closes that gap.
 */

/** A lowercase letter or digit followed by an uppercase one, or an acronym followed by a word. */
const MIXED_CASE = /[a-z0-9][A-Z]|[A-Z][A-Z][a-z]/;

/**
 * The parts of every distinct mixed-case identifier in `text`, space-separated
 * (`upgradeWebSocket(c)` → `upgrade Web Socket`, `HTTPException` → `HTTP Exception`).
 * Identifiers that are all one case contribute nothing: they are already whole words.
 *
 * An identifier is a run of ASCII letters and digits, starting with a
 * letter, between characters that are not ASCII word characters (a run
 * touching `_` is snake_case, which the tokenizer already splits). The runs
 * are found by one pass over the characters: a regex for the whole pattern
 * backtracks over every word of the text.
 */
export function identifierWords(text: string): string {
  let seen: Set<string> | undefined;
  let words = "";
  let start = -1;
  let underscore = false;
  let upper = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    const isUpper = c >= 65 && c <= 90;
    if (isUpper || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) {
      if (start < 0) (start = i), (underscore = false), (upper = false);
      if (c === 95) underscore = true;
      // Mixed case needs an uppercase letter after the first character.
      else if (isUpper && i > start) upper = true;
      continue;
    }
    if (start < 0) continue;
    const first = text.charCodeAt(start);
    const startsWithLetter = (first >= 65 && first <= 90) || (first >= 97 && first <= 122);
    if (upper && !underscore && startsWithLetter) {
      const identifier = text.slice(start, i);
      if (MIXED_CASE.test(identifier) && !seen?.has(identifier)) {
        (seen ??= new Set()).add(identifier);
        const parts = splitIdentifier(identifier).join(" ");
        words = words ? `${words} ${parts}` : parts;
      }
    }
    start = -1;
  }
  return words;
}

/** `getConnInfo` → `get Conn Info`; `streamSSE` → `stream SSE`; `HTTPException` → `HTTP Exception`. */
export function splitIdentifier(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(" ");
}
