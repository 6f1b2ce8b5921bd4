/**
 * A generated documentation set of exactly 10,000 sections (1,000 pages of a
 * lead paragraph and nine `##` sections), seeded, so every run and every
 * machine indexes the same text. Words come from a made-up vocabulary with a
 * Zipf-like frequency, as in real prose; some are code identifiers in
 * backticks (`fooBarBaz`) and some paragraphs are fenced code.
 */
import type { Page } from "../../../src/docs/page.ts";
import { seededRandom } from "./stats.ts";

const SYLLABLES = ["ka", "ro", "mi", "te", "su", "lan", "dor", "vi", "pel", "quo", "ná", "zen", "bar", "fi", "ost", "ul", "gra", "he", "cap", "ti", "mon", "re", "sa", "no", "lu", "ex", "im", "por", "tra", "sil"];

export interface GeneratedSet {
  pages: Page[];
  /** Queries of one to four words: common and rare words mixed. */
  queries: string[];
  vocabulary: string[];
}

export interface CorpusOptions {
  pages?: number;
  sectionsPerPage?: number;
  /** Paragraphs of each `##` section, at least and at most: 1–3 by default (about 0.5 KB a section); 8–16 gives about 3 KB. */
  paragraphs?: readonly [number, number];
  queries?: number;
  seed?: number;
}

export function generateCorpus(options: CorpusOptions = {}): GeneratedSet {
  const random = seededRandom(options.seed ?? 20_260_101);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

  const vocabulary: string[] = [];
  const seen = new Set<string>();
  while (vocabulary.length < 6_000) {
    let word = "";
    const syllables = between(1, 4);
    for (let i = 0; i < syllables; i++) word += pick(SYLLABLES);
    if (word.length < 3 || seen.has(word)) continue;
    seen.add(word);
    vocabulary.push(word);
  }
  // Zipf (s = 1): rank r has weight 1/r.
  const cumulative: number[] = [];
  let total = 0;
  for (let r = 1; r <= vocabulary.length; r++) cumulative.push((total += 1 / r));
  const zipfWord = (): string => {
    const x = random() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! < x) low = mid + 1;
      else high = mid;
    }
    return vocabulary[low]!;
  };
  const words = (n: number) => Array.from({ length: n }, zipfWord);
  const identifier = () => zipfWord() + words(between(1, 2)).map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  const sentence = () => {
    const parts = words(between(6, 16)).map((w) => (random() < 0.06 ? `\`${identifier()}\`` : w));
    const text = parts.join(" ");
    return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
  };
  const paragraph = () => {
    if (random() < 0.12) return ["```ts", `const ${identifier()} = ${identifier()}(${JSON.stringify(zipfWord())});`, "```"].join("\n");
    return Array.from({ length: between(2, 5) }, sentence).join(" ");
  };

  const pageCount = options.pages ?? 1_000;
  const sectionsPerPage = options.sectionsPerPage ?? 10;
  const pages: Page[] = [];
  for (let p = 0; p < pageCount; p++) {
    const title = words(between(2, 5)).join(" ");
    const lines = [paragraph()];
    for (let s = 1; s < sectionsPerPage; s++) {
      lines.push("", `## ${words(between(2, 4)).join(" ")}`, "");
      for (let k = between(...(options.paragraphs ?? [1, 3])); k > 0; k--) lines.push(paragraph(), "");
    }
    const id = `gen/page-${String(p).padStart(4, "0")}`;
    pages.push({ id, title: title[0]!.toUpperCase() + title.slice(1), url: `https://generated.example.test/${id}/`, markdown: lines.join("\n").trim() });
  }

  const queries: string[] = [];
  for (let q = 0; q < (options.queries ?? 200); q++) {
    // Half of the words by frequency (common), half uniformly (mostly rare).
    queries.push(Array.from({ length: between(1, 4) }, () => (random() < 0.5 ? zipfWord() : pick(vocabulary))).join(" "));
  }
  return { pages, queries, vocabulary };
}
