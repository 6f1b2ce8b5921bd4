import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Library } from "../docs/library.ts";
import type { Page } from "../docs/page.ts";
import { isValidId } from "../docs/ids.ts";

/**
 * The `search` and `fetch` tools, in the shape ChatGPT's connectors expect
 * (one text item holding JSON), which every other MCP client reads as well.
 */

/** Longest text `fetch` returns at once; a longer page is read on with `offset`. */
export const FETCH_MAX_CHARS = 50_000;
export const SEARCH_DEFAULT_LIMIT = 10;
export const SEARCH_MAX_LIMIT = 50;

const searchArgs = v.object({
  query: v.pipe(
    v.string("query must be a string"),
    v.description("What to look for: a question or keywords, in natural language. Any text is accepted."),
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
      v.description("Character offset to read a long page from, as given by a previous fetch."),
    ),
  ),
});

/**
 * JSON Schema of a tool's input as clients want it: flat, `type: object` at
 * the top, and no `$schema` key (Gemini rejects it; MCP 2025-11-25 assumes
 * JSON Schema 2020-12 anyway).
 */
function inputSchema(schema: v.GenericSchema): Tool["inputSchema"] {
  const { $schema: _, ...json } = toJsonSchema(schema) as Record<string, unknown>;
  return json as Tool["inputSchema"];
}

const readOnly = { readOnlyHint: true, idempotentHint: true, destructiveHint: false, openWorldHint: false };

/** Tool descriptions are computed once: they do not change while running. */
export function toolList(docsTitle: string): Tool[] {
  return [
    {
      name: "search",
      title: `Search ${docsTitle}`,
      description:
        `Search ${docsTitle} and return the best-matching pages, best first, each with id, title, url and a snippet. ` +
        "Ask in natural language or with keywords; then call fetch with a result's id to read the page.",
      inputSchema: inputSchema(searchArgs),
      annotations: { title: `Search ${docsTitle}`, ...readOnly },
    },
    {
      name: "fetch",
      title: "Read a documentation page",
      description:
        `Return one page of ${docsTitle} in full, as Markdown, by the id that search returned. ` +
        `Pages longer than ${FETCH_MAX_CHARS} characters come in parts: the result says which offset to ask for next.`,
      inputSchema: inputSchema(fetchArgs),
      annotations: { title: "Read a documentation page", ...readOnly },
    },
  ];
}

/**
 * Runs a tool call. Never throws for anything a caller can send: bad
 * arguments, an unknown tool or an unknown page are results with
 * `isError: true` and a message a model can act on.
 */
export function callTool(library: Library, name: string, args: unknown): CallToolResult {
  if (name === "search") {
    const parsed = v.safeParse(searchArgs, args ?? {});
    if (!parsed.success) return failure(`Invalid arguments for search: ${issuesText(parsed.issues)}. Call it as search {"query": "your question"}.`);
    const hits = library.search(parsed.output.query, parsed.output.limit ?? SEARCH_DEFAULT_LIMIT);
    const results = hits.map(({ id, title, url, snippet }) => ({ id, title, url, snippet }));
    return text(JSON.stringify({ results }));
  }
  if (name === "fetch") {
    const parsed = v.safeParse(fetchArgs, args ?? {});
    if (!parsed.success) return failure(`Invalid arguments for fetch: ${issuesText(parsed.issues)}. Call it as fetch {"id": "<id from search>"}.`);
    const page = findPage(library, parsed.output.id);
    if (!page) {
      return failure(`No page has the id ${JSON.stringify(parsed.output.id.slice(0, 200))}. Use the search tool to find pages and pass one of the ids it returns.`);
    }
    return text(JSON.stringify(pageResult(page, parsed.output.offset ?? 0)));
  }
  return failure(`Unknown tool ${JSON.stringify(String(name).slice(0, 100))}. This server has the tools search and fetch.`);
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

function pageResult(page: Page, offset: number) {
  const total = page.markdown.length;
  let end = Math.min(total, offset + FETCH_MAX_CHARS);
  if (end < total) {
    // Cut at a paragraph break near the limit so a part never ends mid-sentence.
    const paragraph = page.markdown.lastIndexOf("\n\n", end);
    if (paragraph > offset + FETCH_MAX_CHARS * 0.8) end = paragraph;
  }
  const truncated = end < total;
  let body = page.markdown.slice(offset, end);
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
      offset,
      truncated,
      ...(truncated ? { nextOffset: end } : {}),
    },
  };
}

function text(value: string): CallToolResult {
  return { content: [{ type: "text", text: value }] };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
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
