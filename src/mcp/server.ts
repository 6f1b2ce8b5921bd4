import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Library } from "../docs/library.ts";
import { callTool, toolList } from "./tools.ts";
import { listResources, readResource, resourceTemplates } from "./resources.ts";

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
    server.setRequestHandler(CallToolRequestSchema, (request) => callTool(library, request.params.name, request.params.arguments));
    server.setRequestHandler(ListResourcesRequestSchema, (request) => listResources(library, request.params?.cursor));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates }));
    server.setRequestHandler(ReadResourceRequestSchema, (request) => readResource(library, request.params.uri));
    return server;
  };
}
