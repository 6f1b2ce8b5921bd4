/**
 * Search relevance evaluation on the Hono corpus: developer questions with
 * the pages that answer them, mean reciprocal rank and top-3 rate, and the
 * MiniSearch baseline we compare against. Shared by the relevance test and
 * `scripts/relevance.ts`.
 */
import MiniSearch from "minisearch";
import type { Page } from "../../src/docs/page.ts";
import type { SearchIndex } from "../../src/search/index.ts";
import { searchSets } from "../../src/docs/set-search.ts";
import { STOP_WORDS } from "../../src/search/stopwords.ts";

/** A question and the ids of the pages that answer it (any of them counts). */
export interface RelevanceCase {
  question: string;
  expected: readonly string[];
}

/** Page ids for a question, best first. */
export type Ranker = (question: string) => string[];

/** Where one question's first acceptable page landed (`null`: not in the top `k`). */
export interface CaseResult {
  question: string;
  expected: readonly string[];
  rank: number | null;
  top: string[];
}

export interface Evaluation {
  /** Mean reciprocal rank over the top `k` (0 for a miss). */
  mrr: number;
  /** Share of questions whose expected page is in the top 3. */
  top3: number;
  results: CaseResult[];
}

const MW = "docs/middleware/builtin";

/**
 * Questions as developers ask them, with the pages a Hono developer would want
 * to land on. Several ids where the docs genuinely answer in more than one place
 * (the JWT middleware and the JWT helper, the testing guide and the testing helper).
 */
export const HONO_CASES: readonly RelevanceCase[] = [
  { question: "how do I limit the request body size", expected: [`${MW}/body-limit`] },
  { question: "set a cookie", expected: ["docs/helpers/cookie"] },
  { question: "validate JSON input with zod", expected: ["docs/guides/validation"] },
  { question: "deploy to cloudflare workers", expected: ["docs/getting-started/cloudflare-workers"] },
  { question: "serve static files with bun", expected: ["docs/getting-started/bun"] },
  { question: "handle CORS", expected: [`${MW}/cors`] },
  { question: "jwt authentication", expected: [`${MW}/jwt`, "docs/helpers/jwt"] },
  { question: "websocket", expected: ["docs/helpers/websocket"] },
  { question: "testing my app", expected: ["docs/guides/testing", "docs/helpers/testing"] },
  { question: "stream a response", expected: ["docs/helpers/streaming"] },
  { question: "send server-sent events to the browser", expected: ["docs/helpers/streaming"] },
  { question: "protect a route with a username and password", expected: [`${MW}/basic-auth`] },
  { question: "check a bearer token in the Authorization header", expected: [`${MW}/bearer-auth`] },
  { question: "log every incoming request", expected: [`${MW}/logger`] },
  { question: "compress responses with gzip", expected: [`${MW}/compress`] },
  { question: "add a content security policy header", expected: [`${MW}/secure-headers`] },
  { question: "prevent cross-site request forgery", expected: [`${MW}/csrf`] },
  { question: "custom 404 not found handler", expected: ["docs/api/hono"] },
  { question: "global error handler for uncaught exceptions", expected: ["docs/api/hono", "docs/api/exception"] },
  { question: "throw an HTTPException with a status code", expected: ["docs/api/exception"] },
  { question: "get a path parameter from the URL", expected: ["docs/api/request", "docs/api/routing"] },
  { question: "read query string parameters", expected: ["docs/api/request"] },
  { question: "parse a multipart form with uploaded files", expected: ["docs/api/request"] },
  { question: "group routes under a common base path", expected: ["docs/api/routing"] },
  { question: "type-safe client for my API routes", expected: ["docs/guides/rpc"] },
  { question: "render JSX on the server", expected: ["docs/guides/jsx"] },
  { question: "use React hooks like useState in the browser", expected: ["docs/guides/jsx-dom"] },
  { question: "generate a static site", expected: ["docs/helpers/ssg"] },
  { question: "cache responses", expected: [`${MW}/cache`] },
  { question: "abort a request that takes too long", expected: [`${MW}/timeout`] },
  { question: "add a unique id to every request", expected: [`${MW}/request-id`] },
  { question: "get the client's remote IP address", expected: ["docs/helpers/conninfo"] },
  { question: "block requests from certain IP addresses", expected: [`${MW}/ip-restriction`] },
  { question: "content negotiation with the Accept header", expected: ["docs/helpers/accepts"] },
  { question: "read environment variables in any runtime", expected: ["docs/helpers/adapter"] },
  { question: "run my app on node.js", expected: ["docs/getting-started/nodejs"] },
  { question: "deploy to AWS Lambda", expected: ["docs/getting-started/aws-lambda"] },
  { question: "deploy on vercel", expected: ["docs/getting-started/vercel"] },
  { question: "deno deploy", expected: ["docs/getting-started/deno"] },
  { question: "which router is the fastest", expected: ["docs/concepts/routers", "docs/concepts/benchmarks"] },
  { question: "create a new project from a starter template", expected: ["docs/guides/create-hono", "docs/getting-started/basic"] },
  { question: "write my own middleware", expected: ["docs/guides/middleware"] },
  { question: "forward requests to another server", expected: ["docs/helpers/proxy"] },
  { question: "pretty print JSON responses", expected: [`${MW}/pretty-json`] },
  { question: "redirect URLs with a trailing slash", expected: [`${MW}/trailing-slash`] },
  { question: "detect the user's preferred language", expected: [`${MW}/language`] },
  { question: "measure response time with Server-Timing", expected: [`${MW}/timing`] },
  { question: "write CSS styles in JavaScript", expected: ["docs/helpers/css"] },
  { question: "verify tokens with a JWKS endpoint", expected: [`${MW}/jwk`] },
  { question: "list all registered routes", expected: ["docs/helpers/dev"] },
  { question: "send PUT or DELETE from an HTML form", expected: [`${MW}/method-override`] },
  { question: "share variables between middleware and handlers", expected: ["docs/api/context", "docs/guides/middleware"] },
  { question: "access the context outside of a handler", expected: [`${MW}/context-storage`] },
  { question: "redirect to another page", expected: ["docs/api/context"] },
  { question: "apply middleware only when a condition matches", expected: [`${MW}/combine`] },
  { question: "mount an app built with another framework", expected: ["docs/api/hono"] },
  { question: "use hono inside a next.js app", expected: ["docs/getting-started/nextjs"] },
  { question: "sign a JWT token", expected: ["docs/helpers/jwt"] },
  { question: "escape HTML in template literals", expected: ["docs/helpers/html"] },
  { question: "ETag caching headers", expected: [`${MW}/etag`] },
  { question: "bindings for KV in cloudflare pages", expected: ["docs/getting-started/cloudflare-pages"] },
  { question: "openapi swagger documentation", expected: ["docs/middleware/third-party"] },
  { question: "difference between hono and hono/tiny presets", expected: ["docs/api/presets"] },
];

/**
 * Questions about MkDocs, against its own documentation (the built site of
 * Debian's mkdocs-doc, read through the sitemap source): the ids are the
 * site's page paths.
 */
export const MKDOCS_CASES: readonly RelevanceCase[] = [
  { question: "install mkdocs with pip", expected: ["user-guide/installation"] },
  { question: "deploy the site to github pages", expected: ["user-guide/deploying-your-docs"] },
  { question: "deploy to read the docs", expected: ["user-guide/deploying-your-docs"] },
  { question: "create a new project", expected: ["getting-started", "user-guide/cli"] },
  { question: "write a plugin", expected: ["dev-guide/plugins"] },
  { question: "plugin events such as on_page_markdown", expected: ["dev-guide/plugins"] },
  { question: "use a third party theme", expected: ["user-guide/choosing-your-theme"] },
  { question: "override a template block of the theme", expected: ["user-guide/customizing-your-theme"] },
  { question: "add extra css to change the styling", expected: ["user-guide/customizing-your-theme", "user-guide/configuration"] },
  { question: "localize the theme to another language", expected: ["user-guide/localizing-your-theme"] },
  { question: "contribute translations of a theme", expected: ["dev-guide/translations"] },
  { question: "command line options of mkdocs build", expected: ["user-guide/cli"] },
  { question: "link to another page of the documentation", expected: ["user-guide/writing-your-docs"] },
  { question: "enable markdown extensions like admonition", expected: ["user-guide/configuration", "user-guide/writing-your-docs"] },
  { question: "configure the navigation of the site", expected: ["user-guide/configuration", "user-guide/writing-your-docs"] },
  { question: "serve the docs locally with live reloading", expected: ["getting-started", "user-guide/cli"] },
  { question: "create a custom theme from scratch", expected: ["dev-guide/themes"] },
  { question: "license of mkdocs", expected: ["about/license"] },
  { question: "what changed in the latest release", expected: ["about/release-notes"] },
  { question: "configure the search plugin", expected: ["user-guide/configuration"] },
  { question: "python api for plugin developers", expected: ["dev-guide/api", "dev-guide/plugins"] },
  { question: "meta-data at the top of a markdown file", expected: ["user-guide/writing-your-docs"] },
];

/**
 * The question with one typo, the way fast typing makes them: in its
 * longest word of at least 5 letters that is no stop word, two neighbours
 * swapped, a letter dropped or a letter doubled (which one, by the word's
 * length, so the set is the same every run).
 */
export function misspell(question: string): string {
  const words = question.split(" ");
  let at = -1;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (/^[a-z]{5,}$/i.test(word) && !STOP_WORDS.has(word.toLowerCase()) && (at < 0 || word.length > words[at]!.length)) at = i;
  }
  if (at < 0) return question;
  const word = words[at]!;
  const middle = Math.floor(word.length / 2);
  const edit = word.length % 3;
  words[at] =
    edit === 0
      ? word.slice(0, middle - 1) + word[middle] + word[middle - 1] + word.slice(middle + 1)
      : edit === 1
        ? word.slice(0, middle) + word.slice(middle + 1)
        : word.slice(0, middle) + word[middle] + word.slice(middle);
  return words.join(" ");
}

/** The same cases, misspelled by {@link misspell}, expecting the same pages. */
export function misspelled(cases: readonly RelevanceCase[]): RelevanceCase[] {
  return cases.map((c) => ({ question: misspell(c.question), expected: c.expected }));
}

/** Our search as the search tool runs it: with typo correction (see src/docs/set-search.ts). */
export function correctingRanker(index: SearchIndex, limit = 10): Ranker {
  return (question) => searchSets([{ index }], question, { limit }).hits.map((hit) => hit.id);
}

/** Scores a ranker on the cases: MRR over the top `k` and the top-3 rate. */
export function evaluate(cases: readonly RelevanceCase[], ranker: Ranker, k = 10): Evaluation {
  const results = cases.map(({ question, expected }): CaseResult => {
    const top = ranker(question).slice(0, k);
    const index = top.findIndex((id) => expected.includes(id));
    return { question, expected, rank: index === -1 ? null : index + 1, top };
  });
  const mrr = results.reduce((sum, r) => sum + (r.rank ? 1 / r.rank : 0), 0) / results.length;
  const top3 = results.filter((r) => r.rank !== null && r.rank <= 3).length / results.length;
  return { mrr, top3, results };
}

/** Our search, as a ranker. */
export function searchIndexRanker(index: SearchIndex, limit = 10): Ranker {
  return (question) => index.search(question, { limit }).map((hit) => hit.id);
}

/**
 * The baseline: MiniSearch over title + full Markdown, title boosted 2×, its
 * default BM25 and OR combination, no stemming, prefix or fuzzy matching.
 */
export function miniSearchRanker(pages: readonly Page[]): Ranker {
  const mini = new MiniSearch<{ id: string; title: string; text: string }>({
    fields: ["title", "text"],
    searchOptions: { boost: { title: 2 } },
  });
  mini.addAll(pages.map((p) => ({ id: p.id, title: p.title, text: p.markdown })));
  return (question) => mini.search(question).map((r) => String(r.id));
}

/** Questions where either ranker missed the top 3, with both ranks, as an aligned text table. */
export function formatMisses(ours: Evaluation, baseline: Evaluation): string {
  const rows = ours.results
    .map((r, i) => ({ ours: r, base: baseline.results[i]! }))
    .filter(({ ours, base }) => !within3(ours) || !within3(base))
    .map(({ ours, base }) => [
      ours.question,
      ours.expected.map((id) => id.replace(/^docs\//, "")).join(" / "),
      rankText(ours),
      rankText(base),
      (ours.top[0] ?? "-").replace(/^docs\//, ""),
    ]);
  return table(["question", "expected", "ours", "minisearch", "our #1"], rows);
}

/** MRR and top-3 rate of both rankers, as an aligned text table. */
export function formatSummary(ours: Evaluation, baseline: Evaluation): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return table(
    ["ranker", "MRR@10", "top-3"],
    [
      ["SearchIndex (FTS5)", ours.mrr.toFixed(3), pct(ours.top3)],
      ["MiniSearch", baseline.mrr.toFixed(3), pct(baseline.top3)],
    ],
  );
}

function within3(r: CaseResult): boolean {
  return r.rank !== null && r.rank <= 3;
}

function rankText(r: CaseResult): string {
  return r.rank === null ? "-" : String(r.rank);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}
