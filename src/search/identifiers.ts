/**
 * The words inside camelCase and PascalCase identifiers.
 *
 * FTS5's unicode61 tokenizer splits `snake_case` and `kebab-case` but keeps
 * `bodyLimit` as the single token `bodylimit`, so a question about "body
 * limit" would never meet the code that answers it. Indexing the parts as
 * well closes that gap.
 */

/** Mixed-case identifiers: a lowercase letter or digit followed by an uppercase one somewhere. */
const MIXED_CASE = /\b[A-Za-z][A-Za-z0-9]*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z])[A-Za-z0-9]*\b/g;

/**
 * The parts of every distinct mixed-case identifier in `text`, space-separated
 * (`upgradeWebSocket(c)` → `upgrade Web Socket`, `HTTPException` → `HTTP Exception`).
 * Identifiers that are all one case contribute nothing: they are already whole words.
 */
export function identifierWords(text: string): string {
  const seen = new Set<string>();
  const words: string[] = [];
  for (const [identifier] of text.matchAll(MIXED_CASE)) {
    if (seen.has(identifier)) continue;
    seen.add(identifier);
    words.push(splitIdentifier(identifier).join(" "));
  }
  return words.join(" ");
}

/** `getConnInfo` → `get Conn Info`; `streamSSE` → `stream SSE`; `HTTPException` → `HTTP Exception`. */
export function splitIdentifier(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(" ");
}
