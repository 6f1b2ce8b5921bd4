/**
 * Splitting a page's Markdown into the sections the search index ranks, and
 * the heading anchors that let a hit point at the right place of the page.
 *
 * Only ATX headings (`#` … `######`) count: Setext headings are rare in
 * documentation and telling them apart from tables and front-matter-like
 * separators costs more than it gains.
 */
import type { Page, Section } from "./page.ts";

/** An opening code fence: indentation, then 3+ backticks or tildes, then an info string. */
const FENCE_OPEN = /^\s*(`{3,}|~{3,})(.*)$/;
/** An ATX heading line (CommonMark allows up to three spaces of indentation). */
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
/** `{#custom-id}` (optionally with further attributes, as Hugo allows) at the end of a heading. */
const CUSTOM_ID = /[ \t]*\{[ \t]*#([^\s}]+)[^}]*\}[ \t]*$/;

/**
 * Splits a page into sections at its ATX headings.
 *
 * - `#` lines inside fenced code blocks (``` and ~~~) are code, not headings.
 * - The part before the first heading becomes a section with the page title as
 *   heading, anchor `''` and level 0; it is dropped when it is blank and the page
 *   has other sections. A first heading that is an H1 equal to the page title is
 *   folded into that part, since it only repeats the title.
 * - Anchors follow GitHub's rules (see {@link slugify}); `{#custom-id}` suffixes
 *   win, and duplicates within the page get `-1`, `-2`, … suffixes.
 * - `heading` is plain text (Markdown formatting and HTML tags removed); `text`
 *   is the Markdown between this heading and the next, heading line excluded.
 *
 * Always returns at least one section, so every page stays findable by title.
 */
export function splitSections(page: Page): Section[] {
  const lines = page.markdown.split(/\r?\n/);
  const anchors = new AnchorRegistry();
  const sections: Section[] = [];

  const lead: Section = { pageId: page.id, heading: page.title, anchor: "", level: 0, text: "" };
  let current: Section = lead;
  let body: string[] = [];
  let fence: { char: string; length: number } | null = null;
  let sawHeading = false;

  const flush = (): void => {
    current.text = trimBlankLines(body.join("\n"));
    sections.push(current);
    body = [];
  };

  for (const line of lines) {
    if (fence) {
      if (closesFence(line, fence)) fence = null;
      body.push(line);
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    // A backtick fence's info string may not contain backticks (CommonMark), otherwise
    // "```js``` inline" would swallow the rest of the page.
    if (open && !(open[1]!.startsWith("`") && open[2]!.includes("`"))) {
      fence = { char: open[1]![0]!, length: open[1]!.length };
      body.push(line);
      continue;
    }
    const heading = parseHeading(line);
    if (!heading) {
      body.push(line);
      continue;
    }
    const anchor = anchors.claim(heading.customId ?? slugify(heading.raw));
    if (!sawHeading && heading.level === 1 && sameText(heading.text, page.title)) {
      // Folded into the lead section: the body simply continues after the title line.
      sawHeading = true;
      continue;
    }
    sawHeading = true;
    flush();
    current = { pageId: page.id, heading: heading.text, anchor, level: heading.level, text: "" };
  }
  flush();

  if (sections.length > 1 && lead.text === "") sections.shift();
  return sections;
}

/**
 * GitHub-style anchor for a heading (also what Hugo's default and most static
 * site generators produce): a `{#custom-id}` suffix is returned as is;
 * otherwise the heading's plain text (code spans, emphasis, links and HTML tags
 * reduced to their text) is lowercased, everything but letters, marks, digits,
 * `_`, `-` and spaces (including emoji and other punctuation) is dropped, and
 * each space becomes `-`. Unicode letters are kept. Not made unique: that is
 * {@link splitSections}' job, since uniqueness is per page.
 */
export function slugify(heading: string): string {
  const custom = CUSTOM_ID.exec(heading);
  if (custom) return custom[1]!;
  return inlineText(heading)
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\s-]/gu, "")
    .replace(/\s/g, "-");
}

/**
 * Plain text of inline Markdown: code span contents kept literally, links and
 * images reduced to their text, HTML tags, emphasis markers and backslash
 * escapes removed. Used for headings and search text; it is not a full
 * CommonMark inline parser, only good enough for reading and slugs.
 */
export function inlineText(markdown: string): string {
  let out = "";
  let rest = markdown;
  // Code spans first: their content is literal, so `__Host-` keeps its underscores.
  const codeSpan = /(`+)([\s\S]*?[^`])\1(?!`)/;
  for (let m = rest.includes("`") ? codeSpan.exec(rest) : null; m; m = codeSpan.exec(rest)) {
    out += formattedText(rest.slice(0, m.index)) + stripCodePadding(m[2]!);
    rest = rest.slice(m.index + m[0].length);
  }
  return out + formattedText(rest);
}

/** A parsed ATX heading line. */
interface Heading {
  level: number;
  /** Heading content as written, closing `#`s removed (still contains any `{#id}`). */
  raw: string;
  /** Plain text of the heading, without the custom id. */
  text: string;
  customId?: string;
}

function parseHeading(line: string): Heading | null {
  const m = ATX_HEADING.exec(line);
  if (!m) return null;
  // An optional closing sequence of #s must be preceded by a space; a content of only #s is empty.
  const raw = (m[2] ?? "").replace(/(^|[ \t]+)#+$/, "");
  const custom = CUSTOM_ID.exec(raw);
  const withoutId = custom ? raw.slice(0, custom.index) : raw;
  const heading: Heading = {
    level: m[1]!.length,
    raw,
    text: inlineText(withoutId).replace(/\s+/g, " ").trim(),
  };
  if (custom) heading.customId = custom[1]!;
  return heading;
}

function closesFence(line: string, fence: { char: string; length: number }): boolean {
  const m = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
  return m !== null && m[1]![0] === fence.char && m[1]!.length >= fence.length;
}

/** Hands out GitHub-style unique anchors: `a`, `a-1`, `a-2`, skipping ones already taken. */
class AnchorRegistry {
  readonly #occurrences = new Map<string, number>();

  claim(slug: string): string {
    let result = slug;
    while (this.#occurrences.has(result)) {
      const n = (this.#occurrences.get(slug) ?? 0) + 1;
      this.#occurrences.set(slug, n);
      result = `${slug}-${n}`;
    }
    this.#occurrences.set(result, 0);
    return result;
  }
}

function sameText(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/\s+/g, " ").trim().toLowerCase();
  return norm(a) === norm(b);
}

function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, "").trimEnd();
}

function stripCodePadding(code: string): string {
  return /^ .* $/s.test(code) && code.trim() !== "" ? code.slice(1, -1) : code;
}

/** A character some rule of {@link formattedText} acts on. */
const MARKUP = /[\\[<*~_]/;

/** Text outside code spans: escapes, images, links, HTML and emphasis. */
function formattedText(text: string): string {
  // Most lines of prose have nothing for the rules below to do.
  if (!MARKUP.test(text)) return text;
  const escaped: string[] = [];
  // Park escaped characters in the private use area so the rules below leave them alone.
  const parked = text.replace(/\\([!-/:-@[-`{-~])/g, (_, ch: string) => {
    escaped.push(ch);
    return String.fromCharCode(0xe000 + escaped.length - 1);
  });
  const plain = parked
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, "$1")
    .replace(/<((?:https?|mailto):[^>\s]+)>/g, "$1")
    .replace(/<\/?[A-Za-z][^>]*>/g, "")
    .replace(/\*+|~~/g, "")
    // Only underscores at word edges are emphasis; `jwks_uri` keeps its underscore.
    .replace(/(^|[^\p{L}\p{N}_])_+(?=\S)/gu, "$1")
    .replace(/(\S)_+(?=[^\p{L}\p{N}_]|$)/gu, "$1");
  return plain.replace(/[\ue000-\uf8ff]/g, (ch) => escaped[ch.charCodeAt(0) - 0xe000] ?? ch);
}
