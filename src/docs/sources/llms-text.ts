import type { Page } from "../page.ts";
import { idFromPath, idFromPermalink } from "../ids.ts";
import { parseFrontMatter } from "../markdown.ts";
import { slugify } from "../sections.ts";

/**
 * Reading the llms.txt convention (llmstxt.org): `llms-full.txt`, every page
 * of a site in one Markdown file, split back into pages; and `llms.txt`, a
 * Markdown index whose list items link to the pages.
 */

/** A link of an llms.txt index. */
export interface IndexLink {
  title: string;
  url: string;
  description?: string;
}

const FENCE = /^\s*(`{3,}|~{3,})/;
const H1 = /^#\s+(.+?)\s*#*\s*$/;
const H2 = /^##\s+(.+?)\s*#*\s*$/;
/** `Source: https://…` or `URL: https://…` right under a page's heading (Mintlify, this server's own llms-full.txt). */
const SOURCE_LINE = /^\s*(?:source|url)\s*:\s*(\S+)\s*$/i;
/** `- [Title](url): description`, the list items of an llms.txt. */
const LINK_ITEM = /^\s*[-*+]\s+\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)\s*(?::\s*(.*))?$/;

interface Part {
  meta: Record<string, string>;
  lines: string[];
}

/**
 * Splits an llms-full.txt into pages. A page starts at a front-matter block
 * (`---` / `url: …` / `---`, as vitepress-plugin-llms writes) or at a level-1
 * heading; a file with at most one level-1 heading and no such blocks is
 * split at its level-2 headings instead. Headings inside code fences do not
 * count. A page's URL comes from its front matter (`url`, `source`) or a
 * `Source:` line under its heading, with a trailing `.md` removed (the
 * Markdown twin of an HTML page), and otherwise is the file's URL with the
 * heading's anchor. A leading part of only a title and a summary (the file's
 * own header) is not a page.
 */
export function splitLlmsFull(text: string, fileUrl: string): Page[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const headingOutsideFences = (pattern: RegExp) => {
    let fence: string | null = null;
    let count = 0;
    for (const line of lines) {
      const marker = FENCE.exec(line)?.[1];
      if (marker && (fence === null || (marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker))) fence = fence === null ? marker : null;
      else if (fence === null && pattern.test(line)) count++;
    }
    return count;
  };
  const blocks = frontMatterStarts(lines);
  const split = blocks.size > 0 || headingOutsideFences(H1) > 1 ? H1 : H2;

  const parts: Part[] = [];
  let current: Part = { meta: {}, lines: [] };
  let fence: string | null = null;
  let sawHeading = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = blocks.get(i);
    if (fence === null && block) {
      if (current.lines.some((l) => l.trim() !== "")) parts.push(current);
      current = { meta: block.meta, lines: [] };
      sawHeading = false;
      i = block.end;
      continue;
    }
    const marker = FENCE.exec(line)?.[1];
    if (marker) {
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
    } else if (fence === null && split.test(line)) {
      // After a front-matter block, its first heading belongs to it.
      if (!(sawHeading === false && Object.keys(current.meta).length > 0 && !current.lines.some((l) => l.trim() !== "" && l.trim() !== "---"))) {
        if (current.lines.some((l) => l.trim() !== "")) parts.push(current);
        current = { meta: {}, lines: [] };
      }
      sawHeading = true;
    }
    current.lines.push(line);
  }
  if (current.lines.some((l) => l.trim() !== "")) parts.push(current);

  const pages: Page[] = [];
  for (const [index, part] of parts.entries()) {
    const page = pageOf(part, split, fileUrl);
    if (page && !(index === 0 && parts.length > 1 && isHeaderOnly(page.markdown))) pages.push(page);
  }
  return pages;
}

/** Lines where a front-matter block of page metadata starts, with its end line and fields. */
function frontMatterStarts(lines: string[]): Map<number, { end: number; meta: Record<string, string> }> {
  const found = new Map<number, { end: number; meta: Record<string, string> }>();
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const marker = FENCE.exec(lines[i]!)?.[1];
    if (marker) {
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length && lines[i]!.trim() === marker) fence = null;
      continue;
    }
    if (fence !== null || lines[i]!.trim() !== "---") continue;
    let end = i + 1;
    while (end < lines.length && end - i <= 12 && lines[end]!.trim() !== "---") end++;
    if (end >= lines.length || lines[end]!.trim() !== "---" || end === i + 1) continue;
    // Every line a `key: value` (or a list item of one): otherwise it is text between two rules.
    if (!lines.slice(i + 1, end).every((line) => line.trim() === "" || /^[A-Za-z_][\w-]*\s*:/.test(line) || /^\s+-\s/.test(line))) continue;
    const { data } = parseFrontMatter(lines.slice(i, end + 1).join("\n") + "\n");
    const meta: Record<string, string> = {};
    for (const [key, value] of Object.entries(data)) if (typeof value === "string") meta[key.toLowerCase()] = value;
    // Only metadata of a page counts; a `---` rule followed by text and another rule does not.
    if (meta.url || meta.source || meta.title) {
      found.set(i, { end, meta });
      i = end;
    }
  }
  return found;
}

function pageOf(part: Part, split: RegExp, fileUrl: string): Page | undefined {
  const lines = [...part.lines];
  while (lines.length && (lines.at(-1)!.trim() === "" || lines.at(-1)!.trim() === "---")) lines.pop();
  while (lines.length && (lines[0]!.trim() === "" || lines[0]!.trim() === "---")) lines.shift();
  if (lines.length === 0) return undefined;
  const headingAt = lines.findIndex((line) => split.test(line) || H1.test(line));
  const heading = headingAt >= 0 ? (split.exec(lines[headingAt]!) ?? H1.exec(lines[headingAt]!))![1]! : undefined;
  let url = part.meta.url ?? part.meta.source;
  // A `Source:` line among the first lines under the heading names the page; it is metadata, not text.
  for (let i = headingAt + 1; i < Math.min(lines.length, headingAt + 4); i++) {
    const source = SOURCE_LINE.exec(lines[i]!);
    if (source && URL.canParse(source[1]!)) {
      url ??= source[1]!;
      lines.splice(i, 1);
      break;
    }
  }
  const title = part.meta.title ?? heading ?? "Untitled";
  const pageUrl = url && URL.canParse(url, fileUrl) ? new URL(url, fileUrl).href.replace(/(\.html)?\.md$/i, "$1") : `${fileUrl.replace(/#.*$/, "")}#${slugify(title)}`;
  const id = url ? idFromPermalink(pageUrl.replace(/\/index(\.html?)?$/i, "/")) : idFromPath(slugify(title));
  return { id, title: title.trim(), url: pageUrl, markdown: lines.join("\n").trim() };
}

/** A part that is only a heading and a blockquote summary: the file's own header. */
function isHeaderOnly(markdown: string): boolean {
  return markdown.split("\n").every((line) => line.trim() === "" || /^#{1,2}\s/.test(line) || /^\s*>/.test(line));
}

/**
 * The links of an llms.txt: its title (the H1), and every list item of the
 * form `- [Title](url): description`, resolved against `baseUrl`, in order,
 * each URL once.
 */
export function parseLlmsIndex(text: string, baseUrl: string): { title?: string; links: IndexLink[] } {
  const lines = text.split(/\r?\n/);
  const title = lines.map((line) => H1.exec(line)?.[1]).find(Boolean);
  const links: IndexLink[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const item = LINK_ITEM.exec(line);
    if (!item || !URL.canParse(item[2]!, baseUrl)) continue;
    const url = new URL(item[2]!, baseUrl);
    url.hash = "";
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    links.push({ title: item[1]!.replace(/\\([[\]])/g, "$1").trim(), url: url.href, ...(item[3]?.trim() ? { description: item[3].trim() } : {}) });
  }
  return { title, links };
}
