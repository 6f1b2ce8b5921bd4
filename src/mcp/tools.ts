import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import type { Library } from "../docs/library.ts";
import type { Page } from "../docs/page.ts";
import { isValidId } from "../docs/ids.ts";
import { MAX_QUERY_CHARS, searchedText } from "../search/query.ts";
import { ErrorCode, McpError } from "./jsonrpc.ts";
import { PageCache } from "./page-cache.ts";

/**
 * The `search` and `fetch` tools, in the shape ChatGPT's connectors expect
 * (`{results:[{id,title,url}]}` and `{id,title,text,url,metadata}`), given
 * both as `structuredContent` and as the same JSON in one text item, so
 * clients that read either get it.
 */

/**
 * Longest text `fetch` returns at once; a longer page is read on with
 * `offset`. The result carries the text twice (structured and as text), so
 * this keeps a result near 10,000 tokens: below Claude Code's default limit
 * of 25,000 and the size other clients start to cut.
 */
export const FETCH_MAX_CHARS = 20_000;
export const SEARCH_DEFAULT_LIMIT = 10;
export const SEARCH_MAX_LIMIT = 50;

const searchArgs = v.object({
  query: v.pipe(
    v.string("query must be a string"),
    v.description(`What to look for: a question or keywords, in natural language (the first ${MAX_QUERY_CHARS} characters are searched).`),
  ),
  limit: v.optional(
    v.pipe(
      v.number("limit must be a number"),
      v.integer("limit must be a whole number"),
      v.minValue(1, "limit must be at least 1"),
      v.maxValue(SEARCH_MAX_LIMIT, `limit must be at most ${SEARCH_MAX_LIMIT}`),
      v.description(`Most results to return (default ${SEARCH_DEFAULT_LIMIT}).`),
    ),
  ),
});

const fetchArgs = v.object({
  id: v.pipe(
    v.string("id must be a string"),
    v.minLength(1, "id must not be empty"),
    v.description("The id of a page, as returned by search (its url works too)."),
  ),
  offset: v.optional(
    v.pipe(
      v.number("offset must be a number"),
      v.integer("offset must be a whole number"),
      v.minValue(0, "offset must not be negative"),
      v.description("Character offset to read a long page from: the nextOffset of the previous fetch."),
    ),
  ),
});

const searchResult = v.object({
  notice: v.optional(v.pipe(v.string(), v.description("Set when the query was shortened before searching."))),
  results: v.array(
    v.object({
      id: v.pipe(v.string(), v.description("Pass it to fetch to read the page.")),
      title: v.string(),
      url: v.pipe(v.string(), v.description("The page's public URL, with the anchor of the best section.")),
      snippet: v.pipe(v.string(), v.description("Text around the matching words.")),
    }),
  ),
});

const fetchResult = v.object({
  id: v.string(),
  title: v.string(),
  text: v.pipe(v.string(), v.description("The page as Markdown, or the part starting at metadata.offset.")),
  url: v.string(),
  metadata: v.object({
    summary: v.optional(v.string()),
    section: v.optional(v.string()),
    tags: v.optional(v.array(v.string())),
    totalChars: v.pipe(v.number(), v.description("Length of the whole page.")),
    offset: v.number(),
    truncated: v.pipe(v.boolean(), v.description("Whether more of the page follows; read it with fetch at nextOffset.")),
    nextOffset: v.optional(v.number()),
  }),
});

type JsonSchema = Record<string, unknown> & { type: "object" };

/**
 * JSON Schema of a tool's input or output as clients want it: flat, `type:
 * object` at the top, and no `$schema` key (Gemini rejects it; MCP assumes
 * JSON Schema 2020-12 anyway).
 */
function jsonSchema(schema: v.GenericSchema): JsonSchema {
  const { $schema: _, ...json } = toJsonSchema(schema) as Record<string, unknown>;
  return json as JsonSchema;
}

/** A tool as `tools/list` lists it; which fields a client sees depends on its revision (see the engine). */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
  annotations: Record<string, unknown>;
}

/** They only read the documentation, and only this server's: no side effects, no outside world. */
const readOnly = { readOnlyHint: true, idempotentHint: true, destructiveHint: false, openWorldHint: false };

/** The tools, in the order `tools/list` always gives them. Computed once: they do not change while running. */
export function toolDefinitions(docsTitle: string): ToolDefinition[] {
  return [
    {
      name: "search",
      title: `Search ${docsTitle}`,
      description:
        `Search ${docsTitle} and return the best-matching pages, best first, each with id, title, url and a snippet. ` +
        "Ask in natural language or with keywords; then call fetch with a result's id to read the page.",
      inputSchema: jsonSchema(searchArgs),
      outputSchema: jsonSchema(searchResult),
      annotations: { title: `Search ${docsTitle}`, ...readOnly },
    },
    {
      name: "fetch",
      title: "Read a documentation page",
      description:
        `Return one page of ${docsTitle} as Markdown, by the id that search returned. ` +
        `Pages longer than ${FETCH_MAX_CHARS} characters come in parts: metadata.truncated says so, and fetch with offset set to metadata.nextOffset reads on.`,
      inputSchema: jsonSchema(fetchArgs),
      outputSchema: jsonSchema(fetchResult),
      annotations: { title: "Read a documentation page", ...readOnly },
    },
  ];
}

/**
 * What a tool call produced: structured output (with its JSON text, and that
 * text escaped as a string, when already written), or a message a model can
 * act on.
 */
export type ToolOutcome = { output: Record<string, unknown>; json?: string; escaped?: string } | { error: string };

const pages = new PageCache();

export const TOOL_NAMES = ["search", "fetch"] as const;

/**
 * Runs a tool. Arguments that do not fit the tool's input schema, and pages
 * that do not exist, are tool errors (`{ error }`): the spec's "tool
 * execution errors", which a model reads and corrects. Only a call that
 * names no tool of this server is a protocol error.
 *
 * @throws McpError -32602 for an unknown tool name.
 */
export function runTool(library: Library, name: string, args: Record<string, unknown>): ToolOutcome {
  if (name === "search") {
    const parsed = v.safeParse(searchArgs, args);
    if (!parsed.success) return { error: `Invalid arguments for search: ${issuesText(parsed.issues)}. Call it as search {"query": "your question"}.` };
    const query = searchedText(parsed.output.query);
    const hits = library.search(query.text, parsed.output.limit ?? SEARCH_DEFAULT_LIMIT);
    const results = hits.map(({ id, title, url, snippet }) => ({ id, title, url, snippet }));
    // Said, not silent: the model learns its question was cut, and can ask a shorter one.
    const notice = query.cut ? `Only the first ${MAX_QUERY_CHARS} characters of the query were searched; ask in fewer words for a closer match.` : undefined;
    return { output: notice ? { notice, results } : { results } };
  }
  if (name === "fetch") {
    const parsed = v.safeParse(fetchArgs, args);
    if (!parsed.success) return { error: `Invalid arguments for fetch: ${issuesText(parsed.issues)}. Call it as fetch {"id": "<id from search>"}.` };
    const page = findPage(library, parsed.output.id);
    if (!page) {
      return { error: `No page has the id ${JSON.stringify(parsed.output.id.slice(0, 200))}. Use the search tool to find pages and pass one of the ids it returns.` };
    }
    const offset = parsed.output.offset ?? 0;
    return offset === 0 ? pages.firstPart(page, () => pageResult(page, 0)) : { output: pageResult(page, offset) };
  }
  throw unknownTool(name);
}

/** The protocol error for a tool this server does not have (-32602, as the spec's tools section says). */
export function unknownTool(name: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `Unknown tool ${JSON.stringify(name.slice(0, 100))}: this server has the tools ${TOOL_NAMES.join(" and ")}`);
}

/** Looks a page up by id, by `docs://` URI, or by its public URL (models sometimes pass the url). */
function findPage(library: Library, ref: string): Page | undefined {
  const id = ref.startsWith("docs://") ? ref.slice("docs://".length) : ref;
  if (isValidId(id)) {
    const page = library.page(id);
    if (page) return page;
  }
  if (!URL.canParse(ref)) return undefined;
  const url = new URL(ref);
  url.hash = "";
  const wanted = url.href.replace(/\/$/, "");
  return library.snapshot?.pages.find((page) => page.url.replace(/\/$/, "") === wanted);
}

function pageResult(page: Page, offset: number): Record<string, unknown> {
  const total = page.markdown.length;
  const start = Math.min(offset, total);
  let end = Math.min(total, start + FETCH_MAX_CHARS);
  if (end < total) {
    // Cut at a paragraph break near the limit so a part never ends mid-sentence.
    const paragraph = page.markdown.lastIndexOf("\n\n", end);
    if (paragraph > start + FETCH_MAX_CHARS * 0.8) end = paragraph;
  }
  const truncated = end < total;
  let body = page.markdown.slice(start, end);
  if (truncated) {
    body += `\n\n[This page continues: ${total - end} more characters. Call fetch with {"id": ${JSON.stringify(page.id)}, "offset": ${end}} to read on.]`;
  }
  return {
    id: page.id,
    title: page.title,
    text: body,
    url: page.url,
    metadata: {
      ...(page.summary ? { summary: page.summary } : {}),
      ...(page.section ? { section: page.section } : {}),
      ...(page.tags?.length ? { tags: page.tags } : {}),
      totalChars: total,
      offset: start,
      truncated,
      ...(truncated ? { nextOffset: end } : {}),
    },
  };
}

function issuesText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => {
      const path = issue.path?.map((item) => String(item.key)).join(".");
      const message = issue.kind === "schema" && issue.expected && issue.received === "undefined" ? "is required" : issue.message;
      return path ? `${path} ${message.startsWith(path) ? message.slice(path.length + 1) : message}` : message;
    })
    .join("; ");
}
