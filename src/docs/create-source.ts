import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DocsSource } from "./source.ts";
import { EmbeddedSource } from "./embedded-source.ts";
import { FolderSource } from "./folder-source.ts";
import { HugoFileSource } from "./hugo-file-source.ts";
import { RemoteSource } from "./remote-source.ts";
import { isLlmsUrl, LlmsSource } from "./sources/llms-source.ts";
import { isSitemapUrl, SitemapSource } from "./sources/sitemap-source.ts";

export interface SourceSettings {
  /** `embedded`, a local path (file or folder), or an http(s) URL. */
  source: string;
  /** Base URL for Markdown pages, from `MCP_DOCS_BASE_URL`. */
  baseUrl?: string;
  /** The server's own page URL prefix (`<origin>/docs/`), used when `baseUrl` is not set. */
  selfDocsUrl: string;
  dataDir: string;
  /** Where a remote source keeps its last good copy; `<dataDir>/docs-cache` by default. */
  cacheDir?: string;
}

/** A user mistake in the source setting (a path that does not exist); reported in one line, exit 2. */
export class SourceSettingError extends Error {
  override name = "SourceSettingError";
}

/**
 * Picks the adapter for `MCP_DOCS_SOURCE`: a URL ending in `llms.txt` or
 * `llms-full.txt` is the llms.txt convention, one ending in `sitemap.xml` a
 * website, any other URL a remote Hugo index; a folder is Markdown
 * (Docusaurus, MkDocs and VitePress flavours included), any other file a
 * Hugo JSON index.
 *
 * @throws SourceSettingError when a local path does not exist.
 */
export async function createSource(settings: SourceSettings): Promise<DocsSource> {
  const { source } = settings;
  const baseUrl = withSlash(settings.baseUrl ?? settings.selfDocsUrl);
  if (source === "embedded") return new EmbeddedSource(settings.selfDocsUrl);
  if (/^https?:\/\//i.test(source)) {
    const cacheDir = settings.cacheDir ?? join(settings.dataDir, "docs-cache");
    if (isLlmsUrl(source)) return new LlmsSource(source, cacheDir);
    if (isSitemapUrl(source)) return new SitemapSource(source, cacheDir);
    return new RemoteSource({ url: source, cacheDir });
  }
  const path = resolve(source);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SourceSettingError(`MCP_DOCS_SOURCE: ${path} does not exist`);
  if (info.isDirectory()) return new FolderSource(path, baseUrl);
  return new HugoFileSource(path);
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}
