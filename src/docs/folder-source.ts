import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { DocsSource, LoadResult } from "./source.ts";
import { pageFromMarkdown } from "./markdown.ts";
import { uniqueIds } from "./ids.ts";

/**
 * A folder of Markdown files (`.md`, `.mdx`, `.markdown`), read
 * recursively: plain Markdown, or a Docusaurus, MkDocs or VitePress docs
 * folder (their syntax is read by pageFromMarkdown; their sidebar files,
 * such as `_category_.json`, are not Markdown and so not read). Hidden
 * entries (`.vitepress`) and `node_modules` are skipped. A reload that finds the same files with the same
 * sizes and modification times reports "unchanged".
 */
export class FolderSource implements DocsSource {
  readonly description: string;
  readonly defaultTitle: string;
  #signature = "";

  /** @param baseUrl public URL that page paths are appended to (ends in `/`). */
  constructor(
    private readonly root: string,
    private readonly baseUrl: string,
  ) {
    this.description = root;
    this.defaultTitle = root.split(/[\\/]/).filter(Boolean).pop() ?? "Documentation";
  }

  async load(): Promise<LoadResult | undefined> {
    const files = await markdownFiles(this.root);
    if (files.length === 0) throw new Error(`no Markdown files (.md, .mdx, .markdown) in ${this.root}`);
    const signature = files.map((f) => `${f.path}:${f.size}:${f.mtimeMs}`).join("\n");
    if (signature === this.#signature) return undefined;
    const pages = await Promise.all(
      files.map(async (file) => {
        const relativePath = relative(this.root, file.path).split(sep).join("/");
        return pageFromMarkdown(relativePath, await readFile(file.path, "utf8"), this.baseUrl);
      }),
    );
    this.#signature = signature;
    return { pages: uniqueIds(pages) };
  }
}

interface FileInfo {
  path: string;
  size: number;
  mtimeMs: number;
}

async function markdownFiles(dir: string): Promise<FileInfo[]> {
  const found: FileInfo[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    // Symbolic links are not followed: a link could lead the index outside
    // the folder the operator chose to publish.
    if (entry.isDirectory()) found.push(...(await markdownFiles(path)));
    else if (entry.isFile() && /\.(md|mdx|markdown)$/i.test(entry.name)) {
      const info = await stat(path);
      found.push({ path, size: info.size, mtimeMs: info.mtimeMs });
    }
  }
  return found;
}
