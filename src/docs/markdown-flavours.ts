/**
 * What documentation generators add to Markdown, reduced to Markdown the
 * index reads well:
 *
 * - MDX (Docusaurus, Nextra): `import` / `export` lines go, JSX component
 *   tags go while the text between them stays, `{/* comments *\/}` go, and
 *   a heading's `{/* #custom-id *\/}` becomes `{#custom-id}`;
 * - MkDocs admonitions (`!!! note "Title"`, collapsible `???`) become a bold
 *   title line followed by their de-indented body;
 * - Docusaurus and VitePress containers (`:::tip` … `:::`) are left as they
 *   are: the index already reads them (search/plaintext.ts).
 *
 * Code fences are never touched: an `import` in a code sample is content.
 */

const FENCE = /^\s*(`{3,}|~{3,})/;
/** `import x from "y"`, `import "y"`, `export const meta = …` at the start of a line (MDX's ESM). */
const ESM_LINE = /^(import\s[^;]*?from\s*['"][^'"]+['"]|import\s*['"][^'"]+['"]|export\s+(const|default|function|let)\b)/;
/** A line that is only JSX tags: `<Tabs>`, `</TabItem>`, `<Card title="x" />`, `<img src={x} />`. */
const JSX_ONLY_LINE = /^\s*(<\/?[A-Z][\w.]*(\s+[^<>]*?)?\/?>\s*)+$/;
/** An inline JSX component tag (capitalised, so never an HTML tag). */
const JSX_TAG = /<\/?[A-Z][\w.]*(\s+(?:[^<>{}]|\{[^{}]*\})*?)?\/?>/g;
const ADMONITION = /^(\s*)(!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+"([^"]*)")?\s*$/;

/** Normalises `body` (see above); `mdx` for `.mdx` files, whose ESM and JSX are stripped. */
export function normalizeFlavours(body: string, mdx: boolean): string {
  const lines = body.split(/\r?\n/);
  const out: string[] = [];
  let fence: string | null = null;
  let admonition: { indent: number } | undefined;
  let esm = false;
  for (const line of lines) {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== null) {
      out.push(admonition ? dedent(line, admonition.indent) : line);
      if (marker && line.trim() === marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      continue;
    }
    if (admonition && line.trim() !== "" && indentOf(line) < admonition.indent) admonition = undefined;
    if (marker) {
      fence = marker;
      out.push(admonition ? dedent(line, admonition.indent) : line);
      continue;
    }
    const head = ADMONITION.exec(line);
    if (head) {
      const kind = head[3]!;
      const title = head[4] ?? kind.charAt(0).toUpperCase() + kind.slice(1);
      out.push("", `${head[1]}**${title}**`, "");
      admonition = { indent: head[1]!.length + 4 };
      continue;
    }
    let text = admonition ? dedent(line, admonition.indent) : line;
    if (mdx) {
      // A multi-line import continues until its `from '…'`.
      if (esm) {
        if (/from\s*['"][^'"]+['"];?\s*$/.test(text) || /^\s*\}?\s*;?\s*$/.test(text)) esm = false;
        continue;
      }
      if (ESM_LINE.test(text)) continue;
      if (/^import\s*\{[^}]*$/.test(text) || /^import\s+\w+\s*,\s*\{[^}]*$/.test(text)) {
        esm = true;
        continue;
      }
      text = text.replace(/\{\/\*\s*(#[\w-]+)\s*\*\/\}/g, "{$1}").replace(/\{\/\*[\s\S]*?\*\/\}/g, "");
      if (JSX_ONLY_LINE.test(text)) continue;
      text = text.replace(JSX_TAG, "");
    }
    out.push(text);
  }
  return out.join("\n");
}

function indentOf(line: string): number {
  return /^[ \t]*/.exec(line)![0].replace(/\t/g, "    ").length;
}

function dedent(line: string, by: number): string {
  let removed = 0;
  let i = 0;
  while (i < line.length && removed < by && (line[i] === " " || line[i] === "\t")) {
    removed += line[i] === "\t" ? 4 : 1;
    i++;
  }
  return line.slice(i);
}
