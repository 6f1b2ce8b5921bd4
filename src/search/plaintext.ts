/**
 * Markdown reduced to the plain text that the search index stores and its
 * snippets show. Code is kept verbatim (identifiers are what developers search
 * for); only the Markdown and VitePress/GitBook syntax around text goes.
 */
import { inlineText } from "../docs/sections.ts";

const FENCE = /^\s*(`{3,}|~{3,})/;
/** Lines that carry only syntax: `:::` containers, table rules, GitBook `{% … %}` tags. */
const SYNTAX_ONLY = /^\s*(?::::|\|?[\s:|-]*-[\s:|-]*\|?\s*$|\{%.*%\}\s*$)/;

/**
 * Plain text of a Markdown section body: fence and container lines dropped,
 * code inside fences kept as is, list, quote and table markup removed, inline
 * formatting reduced by {@link inlineText}. Line structure is kept; callers
 * collapse whitespace when they need a one-liner.
 */
export function markdownToText(markdown: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.replace(/<!--[\s\S]*?-->/g, "").split(/\r?\n/)) {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
        fence = null;
      } else {
        out.push(line);
      }
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    if (SYNTAX_ONLY.test(line)) {
      // `::: warning Some title` keeps its title; the marker itself is noise.
      const title = /^\s*:::\s*\S+\s+(.+)$/.exec(line)?.[1];
      if (title) out.push(inlineText(title));
      continue;
    }
    const stripped = line
      .replace(/^\s*(?:>\s?)+/, "")
      .replace(/^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?/, "")
      // Table cell borders go; an escaped `\|` is a literal pipe, even inside a code span (GFM).
      .replace(/\s*(?<!\\)\|\s*/g, " ")
      .replace(/\\\|/g, "|");
    out.push(inlineText(stripped));
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trim();
}

/**
 * One-line excerpt: whitespace collapsed and cut at a word boundary to at most
 * `max` characters (an ellipsis marks the cut).
 */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  let end = space > max * 0.6 ? space : cut.length;
  // No space or ellipsis before the one added (a loop: a regex anchored at the end retries from every space).
  while (end > 0 && (cut[end - 1] === " " || cut[end - 1] === "…")) end--;
  return `${cut.slice(0, end)}…`;
}
