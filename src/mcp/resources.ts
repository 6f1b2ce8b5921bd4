import { ErrorCode, McpError, type ListResourcesResult, type ReadResourceResult, type ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";
import type { Library } from "../docs/library.ts";
import { isValidId } from "../docs/ids.ts";

/** Every page is a resource `docs://<id>` holding its Markdown. */

export const RESOURCE_SCHEME = "docs://";
/** Resources per `resources/list` page; large documentation sets are paged with a cursor. */
export const RESOURCES_PER_PAGE = 500;
/** MCP's code for "resource not found" (spec 2025-11-25, resources). */
export const RESOURCE_NOT_FOUND = -32002;

export const resourceTemplates: ResourceTemplate[] = [
  {
    // `{+id}`: RFC 6570 reserved expansion, because ids contain `/`.
    uriTemplate: `${RESOURCE_SCHEME}{+id}`,
    name: "page",
    title: "Documentation page",
    description: "A documentation page as Markdown, by the id the search tool returns.",
    mimeType: "text/markdown",
  },
];

export function listResources(library: Library, cursor: string | undefined): ListResourcesResult {
  const pages = library.snapshot?.pages ?? [];
  const start = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(start) || start < 0 || start > pages.length) {
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
 * @throws McpError -32002 for an unknown page or a URI of another scheme.
 */
export function readResource(library: Library, uri: string): ReadResourceResult {
  const id = uri.startsWith(RESOURCE_SCHEME) ? uri.slice(RESOURCE_SCHEME.length) : undefined;
  const page = id !== undefined && isValidId(id) ? library.page(id) : undefined;
  if (!page) {
    throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri.slice(0, 200)}`, { uri: uri.slice(0, 200) });
  }
  return { contents: [{ uri: RESOURCE_SCHEME + page.id, mimeType: "text/markdown", text: page.markdown }] };
}
