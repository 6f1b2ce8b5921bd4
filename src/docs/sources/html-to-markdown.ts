import { decodeEntities } from "./html-entities.ts";

/**
 * A web page's main content as Markdown, with Bun's streaming `HTMLRewriter`
 * (lol-html): no DOM is built, so a page costs its size in time and little
 * memory.
 *
 * "Main content" is the first container, in {@link CONTENT_SELECTORS} order,
 * that the page has: the documentation generators' own content element
 * (VitePress, Docusaurus, MkDocs Material, Sphinx), then `article`,
 * `[role=main]`, `main`, and the whole `body` only when none exists. Inside
 * it, navigation, table-of-contents asides, footers, scripts, styles, forms
 * and heading anchor links are left out. Headings keep their `id` as
 * `{#id}`, so search hits point at the site's own anchors.
 */

export interface ConvertedPage {
  /** The first `h1` of the content, else the document's `<title>` without a " - Site" tail. */
  title?: string;
  markdown: string;
}

/** Content containers, most specific first. */
const CONTENT_SELECTORS = [".vp-doc", ".theme-doc-markdown", ".md-content__inner", "div.body[role=main]", "article", "[role=main]", "main", "#content", "body"];
/** Left out with everything inside. */
const SKIPPED_TAGS = new Set(["script", "style", "noscript", "template", "svg", "nav", "aside", "footer", "form", "button", "iframe", "select", "textarea", "input", "dialog", "object", "canvas", "head"]);
/** Classes of anchors and widgets that are chrome, not content. */
const SKIPPED_CLASSES = /(^|\s)(headerlink|hash-link|header-anchor|anchor-link|lang|copy|sr-only|tabs|visually-hidden|toc|breadcrumbs?|theme-doc-toc-mobile|md-source-file|edit-link)(\s|$)/;
const BLOCK_TAGS = new Set(["p", "div", "section", "article", "main", "header", "figure", "figcaption", "details", "summary", "dl", "dt", "dd", "address", "center"]);

interface Frame {
  tag: string;
  /** Text collected for this element, when its Markdown is built at its end tag. */
  buffer?: string[];
  attrs?: Record<string, string>;
}

/**
 * Converts `html`. Never throws on malformed HTML (lol-html is lenient);
 * a page without recognizable content gives empty Markdown.
 */
export function htmlToMarkdown(html: string, pageUrl?: string): ConvertedPage {
  const selector = contentSelector(html);
  const out: string[][] = [[]];
  const stack: Frame[] = [];
  let inside = 0;
  let skip = 0;
  let pre = 0;
  const lists: { ordered: boolean; n: number }[] = [];
  let table: { rows: string[][] } | undefined;
  let title: string | undefined;
  let documentTitle = "";
  let inTitle = false;
  let pending = "";

  const write = (text: string) => out.at(-1)!.push(text);
  const blank = () => write("\n\n");
  const line = () => write("\n");
  const push = () => out.push([]);
  const pop = () => out.pop()!.join("");

  const rewriter = new HTMLRewriter()
    .on("title", {
      element(el) {
        inTitle = true;
        el.onEndTag(() => void (inTitle = false));
      },
    })
    .on(selector, {
      element(el) {
        inside++;
        if (el.canHaveContent) el.onEndTag(() => void (inside--, blank()));
      },
    })
    .on("*", {
      element(el) {
        const tag = el.tagName.toLowerCase();
        if (inside === 0) return;
        const skipped = skip > 0 || SKIPPED_TAGS.has(tag) || SKIPPED_CLASSES.test(el.getAttribute("class") ?? "") || el.getAttribute("aria-hidden") === "true" || el.hasAttribute("hidden");
        if (!el.canHaveContent) {
          if (skipped) return;
          if (tag === "br") write("\n");
          else if (tag === "hr") write("\n\n---\n\n");
          else if (tag === "img" && el.getAttribute("alt")) write(el.getAttribute("alt")!);
          return;
        }
        if (skipped) {
          skip++;
          el.onEndTag(() => void skip--);
          return;
        }
        const frame: Frame = { tag };
        stack.push(frame);
        const heading = /^h([1-6])$/.exec(tag);
        if (heading || tag === "a" || tag === "blockquote" || tag === "strong" || tag === "b" || tag === "em" || tag === "i" || tag === "th" || tag === "td" || (tag === "code" && pre === 0) || tag === "pre") {
          push();
          frame.attrs = { id: el.getAttribute("id") ?? "", href: el.getAttribute("href") ?? "", class: el.getAttribute("class") ?? "" };
        }
        if (tag === "pre") pre++;
        if (tag === "ul" || tag === "ol") {
          line();
          lists.push({ ordered: tag === "ol", n: Number(el.getAttribute("start") ?? 1) || 1 });
        } else if (tag === "li") {
          const list = lists.at(-1);
          line();
          write(`${"  ".repeat(Math.max(0, lists.length - 1))}${list?.ordered ? `${list.n++}.` : "-"} `);
        } else if (tag === "table") {
          table = { rows: [] };
        } else if (tag === "tr") {
          table?.rows.push([]);
        } else if (BLOCK_TAGS.has(tag)) {
          if (lists.length > 0 && (tag === "p" || tag === "div")) line();
          else blank();
        }
        el.onEndTag(() => {
          stack.pop();
          finish(frame, heading ? Number(heading[1]) : 0);
        });
      },
    })
    .onDocument({
      text(chunk) {
        pending += chunk.text;
        if (!chunk.lastInTextNode) return;
        const text = decodeEntities(pending);
        pending = "";
        if (inTitle) documentTitle += text;
        if (inside === 0 || skip > 0) return;
        write(pre > 0 ? text : text.replace(/\s+/g, " "));
      },
    });

  const finish = (frame: Frame, level: number) => {
    const { tag, attrs } = frame;
    if (level > 0) {
      const text = inline(pop());
      if (!text) return;
      if (level === 1) title ??= text;
      blank();
      write(`${"#".repeat(level)} ${text}${attrs?.id && /^[\w.:-]+$/.test(attrs.id) ? ` {#${attrs.id}}` : ""}`);
      blank();
    } else if (tag === "a") {
      const text = inline(pop());
      const href = attrs?.href ?? "";
      const target = href && !href.startsWith("#") && !/^(javascript|data):/i.test(href) ? resolve(href, pageUrl) : undefined;
      write(text && target ? `[${text.replace(/([[\]])/g, "\\$1")}](${target})` : text);
    } else if (tag === "strong" || tag === "b" || tag === "em" || tag === "i") {
      const text = inline(pop());
      const mark = tag === "strong" || tag === "b" ? "**" : "*";
      write(text ? `${mark}${text}${mark}` : "");
    } else if (tag === "code" && attrs) {
      const text = pop().replace(/\s+/g, " ");
      const ticks = text.includes("`") ? "``" : "`";
      write(text.trim() ? `${ticks}${text}${ticks}` : "");
    } else if (tag === "pre") {
      pre--;
      const code = pop().replace(/^\n+|\s+$/g, "");
      const language = /(?:^|\s)(?:language|lang)-([\w+#-]+)/.exec(attrs?.class ?? "")?.[1] ?? "";
      const fence = code.includes("```") ? "~~~" : "```";
      blank();
      write(`${fence}${language}\n${code}\n${fence}`);
      blank();
    } else if (tag === "blockquote") {
      const text = pop().trim().replace(/\n{3,}/g, "\n\n");
      blank();
      write(text.split("\n").map((l) => (l ? `> ${l}` : ">")).join("\n"));
      blank();
    } else if (tag === "th" || tag === "td") {
      table?.rows.at(-1)?.push(inline(pop()).replace(/\|/g, "\\|"));
    } else if (tag === "ul" || tag === "ol") {
      lists.pop();
      line();
    } else if (tag === "table" && table) {
      const rows = table.rows.filter((row) => row.length > 0);
      table = undefined;
      if (rows.length === 0) return;
      const width = Math.max(...rows.map((row) => row.length));
      const cells = (row: string[]) => `| ${Array.from({ length: width }, (_, i) => row[i] ?? "").join(" | ")} |`;
      blank();
      write([cells(rows[0]!), `|${" --- |".repeat(width)}`, ...rows.slice(1).map(cells)].join("\n"));
      blank();
    } else if (BLOCK_TAGS.has(tag)) {
      if (lists.length > 0 && (tag === "p" || tag === "div")) line();
      else blank();
    }
  };

  rewriter.transform(html);
  const markdown = tidy(out.map((parts) => parts.join("")).join(""));
  return { title: title ?? (cleanTitle(documentTitle) || undefined), markdown };
}

/** The first of {@link CONTENT_SELECTORS} that `html` has (a first, cheap pass). */
function contentSelector(html: string): string {
  const found = new Set<string>();
  let rewriter = new HTMLRewriter();
  for (const selector of CONTENT_SELECTORS) {
    rewriter = rewriter.on(selector, { element: () => void found.add(selector) });
  }
  rewriter.transform(html);
  return CONTENT_SELECTORS.find((selector) => found.has(selector)) ?? "body";
}

/** Inline text: one line, single spaces. */
function inline(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function resolve(href: string, base: string | undefined): string {
  if (!base || !URL.canParse(href, base)) return href;
  return new URL(href, base).href;
}

/** `Getting Started - MkDocs` → `Getting Started`: a site's name after its separator is not the page's. */
function cleanTitle(title: string): string {
  const text = inline(title);
  const cut = text.search(/\s[-|–—·]\s[^-|–—·]+$/);
  return cut > 0 ? text.slice(0, cut) : text;
}

/** Trailing spaces gone, at most one blank line in a row, except inside fences. */
function tidy(markdown: string): string {
  const lines = markdown.split("\n");
  const kept: string[] = [];
  let fence: string | null = null;
  for (const raw of lines) {
    const marker = /^(`{3,}|~{3,})/.exec(raw)?.[1];
    if (fence === null) {
      const line = raw.replace(/[ \t]+$/, "").replace(/^ (?=\S)/, "");
      if (line === "" && (kept.length === 0 || kept.at(-1) === "")) continue;
      kept.push(line);
      if (marker) fence = marker;
    } else {
      kept.push(raw);
      if (marker && raw.trim() === marker && marker[0] === fence[0]) fence = null;
    }
  }
  return kept.join("\n").trim();
}
