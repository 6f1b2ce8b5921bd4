import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Library } from "../docs/library.ts";
import { callTool, toolList } from "./tools.ts";
import { listResources, readResource, resourceTemplates } from "./resources.ts";

/**
 * How long a tool call or resource read waits for the first index. The
 * server answers `initialize` and `tools/list` before the documentation is
 * loaded, so a client connecting at start-up does not wait for indexing.
 */
const READY_WAIT_MS = 10_000;

function notLoaded(): CallToolResult {
  return { content: [{ type: "text", text: "The documentation is still loading (or its source is unreachable); try again in a moment." }], isError: true };
}

export interface McpServerOptions {
  library: Library;
  name: string;
  version: string;
}

/**
 * Builds what each MCP session needs: a low-level SDK `Server` with the
 * tools and resources handlers. The SDK's `McpServer.registerTool` only takes
 * zod schemas; the low-level server lets valibot validate and describe inputs.
 *
 * The tool list is built once here and shared by every session it makes.
 *
 * @example
 * const newServer = mcpServerFactory({ library, name: "docs", version: "1.0.0" });
 * await newServer().connect(transport);
 */
export function mcpServerFactory(options: McpServerOptions): () => Server {
  const { library } = options;
  const tools: Tool[] = toolList(library.title);
  const instructions =
    `This server holds ${library.title}. Use the search tool with a question or keywords to find pages, ` +
    "then the fetch tool with a result's id to read a page in full. Pages are also resources docs://<id>.";

  return () => {
    const server = new Server(
      { name: options.name, title: library.title, version: options.version },
      { capabilities: { tools: {}, resources: {} }, instructions },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      if (!(await library.whenReady(READY_WAIT_MS))) return notLoaded();
      return callTool(library, request.params.name, request.params.arguments);
    });
    server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
      await library.whenReady(READY_WAIT_MS);
      return listResources(library, request.params?.cursor);
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates }));
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      await library.whenReady(READY_WAIT_MS);
      return readResource(library, request.params.uri);
    });
    return server;
  };
}
