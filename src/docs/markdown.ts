import type { Page } from "./page.ts";
import { idFromPath } from "./ids.ts";
import { normalizeFlavours } from "./markdown-flavours.ts";

/**
 * Markdown files as pages: front matter, title and id. Shared by the
 * Markdown-folder source and the embedded guide.
 */

export interface FrontMatter {
  [key: string]: string | string[] | undefined;
}

/**
 * Splits a leading `---` YAML front-matter block from the body. Only the
 * simple subset docs use is read (`key: value`, quoted values, `[a, b]` and
 * `- item` lists); anything else is ignored rather than failing the page.
 */
export function parseFrontMatter(source: string): { data: FrontMatter; body: string } {
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(source);
  if (!match) return { data: {}, body: source };
  const data: FrontMatter = {};
  let listKey: string | undefined;
  for (const line of match[1]!.split(/\r?\n/)) {
    const item = /^\s+-\s+(.*)$/.exec(line);
    if (item && listKey) {
      const list = (data[listKey] as string[] | undefined) ?? [];
      list.push(unquote(item[1]!));
      data[listKey] = list;
      continue;
    }
    const pair = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!pair) continue;
    const [, key, value] = pair as unknown as [string, string, string];
    listKey = value === "" ? key : undefined;
    if (value.startsWith("[") && value.endsWith("]")) {
      data[key] = value.slice(1, -1).split(",").map((s) => unquote(s.trim())).filter(Boolean);
    } else if (value !== "") {
      data[key] = unquote(value);
    }
  }
  return { data, body: source.slice(match[0].length) };
}

/**
 * Makes a page of a Markdown file at `relativePath` (with `/` separators).
 * `index.md` and `_index.md` stand for their folder, as in Hugo; so does
 * `README.md` (MkDocs, VitePress). Front matter `slug` (Docusaurus) places
 * the page: `/x` from the site root, `x` beside the file. The title is
 * front matter `title`, else the first heading, else `sidebar_label`, else
 * the file name. `.mdx` files lose their imports and JSX (see
 * markdown-flavours.ts).
 *
 * @param baseUrl public URL the page path is appended to, ending in `/`.
 */
export function pageFromMarkdown(relativePath: string, source: string, baseUrl: string): Page {
  const { data, body: raw } = parseFrontMatter(source);
  const body = normalizeFlavours(raw, /\.mdx$/i.test(relativePath));
  let path = relativePath.replace(/\.(md|mdx|markdown)$/i, "").replace(/(^|\/)(_?index|readme)$/i, "");
  const slug = str(data.slug);
  if (slug) path = slug.startsWith("/") ? slug.slice(1) : [...path.split("/").slice(0, -1), slug].join("/");
  const id = idFromPath(path);
  const heading = /^#\s+(.+?)\s*#*\s*$/m.exec(body)?.[1]?.replace(/\s*\{#[^}]*\}$/, "");
  const fileName = path.split("/").pop() || "index";
  const title = str(data.title) ?? heading ?? str(data.sidebar_label) ?? fileName.replace(/[-_]+/g, " ");
  const tags = Array.isArray(data.tags) ? data.tags : undefined;
  return {
    id,
    title,
    url: new URL(id === "index" && path === "" ? "" : id, baseUrl).href,
    markdown: body.trim(),
    summary: str(data.description) ?? str(data.summary),
    tags,
    section: id.includes("/") ? id.split("/")[0] : undefined,
  };
}

function str(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}
