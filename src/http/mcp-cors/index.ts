import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

export interface McpCorsOptions {
  /** The origin policy of the host guard: one answer for both checks. */
  originAllowed: (origin: string) => boolean;
}

/** Request headers MCP clients send, across every revision this server speaks. */
export const MCP_REQUEST_HEADERS = [
  "Content-Type",
  "Accept",
  "Authorization",
  "Mcp-Session-Id",
  "Mcp-Protocol-Version",
  "Mcp-Method",
  "Mcp-Name",
  "Last-Event-ID",
];

/**
 * CORS for the MCP endpoints, so browser clients (the MCP Inspector's direct
 * mode, web apps) can call them. Preflights from allowed origins are
 * answered with the headers MCP clients send; `Mcp-Session-Id` is exposed,
 * since a browser script cannot read a session it was given otherwise.
 *
 * It answers only for origins the host guard lets through; mount it after
 * the guard, which refuses the rest with 403 before this runs. No
 * credentials mode: the bearer token is a header the script sets itself.
 *
 * @example
 * app.use("/mcp", mcpCors({ originAllowed: (origin) => origin === "https://inspector.example" }));
 */
export function mcpCors(options: McpCorsOptions): MiddlewareHandler {
  return cors({
    origin: (origin) => (origin && options.originAllowed(origin) ? origin : null),
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: MCP_REQUEST_HEADERS,
    exposeHeaders: ["Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate"],
    // Browsers cap this (Chromium at 2 h); ten minutes spares a preflight per call.
    maxAge: 600,
  });
}
