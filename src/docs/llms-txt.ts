import type { Page } from "./page.ts";

/**
 * The llms.txt convention (llmstxt.org): a Markdown file with the site's
 * title, a one-line summary in a blockquote, and a link per page; and
 * llms-full.txt, every page in full. Generated from the index in service.
 */

export function llmsTxt(title: string, summary: string, pages: readonly Page[]): string {
  const lines = [`# ${title}`, "", `> ${summary}`, "", "## Pages", ""];
  for (const page of pages) {
    const note = page.summary ?? firstSentence(page.markdown);
    lines.push(`- [${escapeLinkText(page.title)}](${page.url})${note ? `: ${note}` : ""}`);
  }
  return lines.join("\n") + "\n";
}

export function llmsFullTxt(title: string, summary: string, pages: readonly Page[]): string {
  const parts = [`# ${title}\n\n> ${summary}\n`];
  for (const page of pages) parts.push(`\n---\n\n# ${page.title}\n\nSource: ${page.url}\n\n${page.markdown}\n`);
  return parts.join("");
}

/** The first sentence of the first paragraph of prose, for pages without a summary. */
function firstSentence(markdown: string): string | undefined {
  let inFence = false;
  for (const raw of markdown.split("\n")) {
    const line = raw.trim();
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence || line === "" || /^(#|:::|<|\||!\[|>|-{3,}|```|~~~)/.test(line)) continue;
    const plain = line.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[*_`]/g, "");
    const sentence = /^(.+?[.!?])(\s|$)/.exec(plain)?.[1] ?? plain;
    return sentence.length > 200 ? `${sentence.slice(0, 197)}...` : sentence;
  }
  return undefined;
}

function escapeLinkText(text: string): string {
  return text.replace(/([[\]])/g, "\\$1");
}
