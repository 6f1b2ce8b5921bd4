/**
 * The MCP protocol revisions this server speaks, and how a request picks one.
 *
 * Two eras share the `/mcp` endpoint (MCP 2026-07-28, "Backward
 * Compatibility"): the modern one, where every request carries its version
 * in `_meta` and nothing is negotiated, and the legacy one, where
 * `initialize` agrees a version for a session.
 */

/** The current revision: stateless, `server/discover`, no `initialize`. */
export const MODERN_VERSION = "2026-07-28";

/** Modern revisions: versioned per request. Newest first. */
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION];

/**
 * Revisions agreed by `initialize`, newest first. 2024-11-05 is the legacy
 * HTTP+SSE transport's; 2024-10-07 is kept because the SDK this server used
 * to answer with accepted it, and a client that asks for it keeps working.
 */
export const LEGACY_VERSIONS: readonly string[] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0]!;

/**
 * The version a Streamable HTTP request without `MCP-Protocol-Version` is
 * taken to speak (2025-06-18, "Protocol Version Header": servers SHOULD
 * assume 2025-03-26).
 */
export const DEFAULT_LEGACY_VERSION = "2025-03-26";

/** JSON-RPC batches were removed in this revision (they exist in 2025-03-26 and 2024-11-05). */
export const FIRST_VERSION_WITHOUT_BATCHES = "2025-06-18";

/** Every revision served, newest first: what `/` and the README list. */
export const ALL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];

/**
 * The version an `initialize` agrees: the client's, if this server speaks
 * it, else the newest legacy one (lifecycle, version negotiation: the client
 * then decides whether it can go on). The newest both sides know, since a
 * client asks for the newest it has.
 */
export function negotiateLegacyVersion(requested: unknown): string {
  return typeof requested === "string" && LEGACY_VERSIONS.includes(requested) ? requested : LATEST_LEGACY_VERSION;
}

/**
 * Whether a version string belongs to the modern era: dated revisions from
 * 2026-07-28 on, and anything else that is not a known legacy revision (a
 * client claiming `v999` is modern and gets -32022 listing what is spoken,
 * rather than an `initialize` error it would not expect).
 */
export function isModernVersion(version: string): boolean {
  return !LEGACY_VERSIONS.includes(version);
}

/** Whether batches are allowed at this legacy version. */
export function allowsBatches(version: string): boolean {
  return version < FIRST_VERSION_WITHOUT_BATCHES;
}
