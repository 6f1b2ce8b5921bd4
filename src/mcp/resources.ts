import type { Library } from "../docs/library.ts";
import { isValidId } from "../docs/ids.ts";
import { ErrorCode, McpError } from "./jsonrpc.ts";

/** Every page is a resource `docs://<id>` holding its Markdown. */

export const RESOURCE_SCHEME = "docs://";
/** Resources per `resources/list` page; large documentation sets are paged with a cursor. */
export const RESOURCES_PER_PAGE = 500;

export const resourceTemplates = [
  {
    // `{+id}`: RFC 6570 reserved expansion, because ids contain `/`.
    uriTemplate: `${RESOURCE_SCHEME}{+id}`,
    name: "page",
    title: "Documentation page",
    description: "A documentation page as Markdown, by the id the search tool returns.",
    mimeType: "text/markdown",
  },
];

/**
 * One page of `resources/list`. The cursor is the offset of the next page,
 * as text: opaque to clients, and valid across replicas serving the same
 * documentation.
 *
 * @throws McpError -32602 for a cursor this server did not hand out.
 */
export function listResources(library: Library, cursor: unknown): Record<string, unknown> {
  const pages = library.snapshot?.pages ?? [];
  const start = cursor === undefined ? 0 : typeof cursor === "string" && /^\d{1,9}$/.test(cursor) ? Number(cursor) : -1;
  if (start < 0 || start > pages.length) {
    throw new McpError(ErrorCode.InvalidParams, "Invalid cursor: pass the nextCursor of the previous resources/list result");
  }
  const end = Math.min(pages.length, start + RESOURCES_PER_PAGE);
  return {
    resources: pages.slice(start, end).map((page) => ({
      uri: RESOURCE_SCHEME + page.id,
      name: page.id,
      title: page.title,
      ...(page.summary ? { description: page.summary } : {}),
      mimeType: "text/markdown",
      size: Buffer.byteLength(page.markdown),
    })),
    ...(end < pages.length ? { nextCursor: String(end) } : {}),
  };
}

/**
 * Reads `docs://<id>`. The id is checked against the id alphabet before the
 * lookup, and the lookup is in the index only: a URI can never name a file.
 *
 * @param notFoundCode -32002 up to MCP 2025-11-25, -32602 from 2026-07-28.
 * @throws McpError with `notFoundCode` and `data.uri` for an unknown page or a URI of another scheme.
 */
export function readResource(library: Library, uri: string, notFoundCode: number): Record<string, unknown> {
  const id = uri.startsWith(RESOURCE_SCHEME) ? uri.slice(RESOURCE_SCHEME.length) : undefined;
  const page = id !== undefined && isValidId(id) ? library.page(id) : undefined;
  if (!page) {
    throw new McpError(notFoundCode, `Resource not found: ${uri.slice(0, 200)}`, { uri: uri.slice(0, 2048) });
  }
  return { contents: [{ uri: RESOURCE_SCHEME + page.id, mimeType: "text/markdown", text: page.markdown }] };
}
