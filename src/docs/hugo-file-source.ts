import { readFile, stat } from "node:fs/promises";
import type { DocsSource, LoadResult } from "./source.ts";
import { parseHugoIndex } from "./hugo.ts";

/** A Hugo JSON index on the local disk; reloaded when its size or modification time changes. */
export class HugoFileSource implements DocsSource {
  readonly description: string;
  readonly defaultTitle: string;
  #signature = "";

  constructor(private readonly path: string) {
    this.description = path;
    this.defaultTitle = path.split(/[\\/]/).pop()?.replace(/(\.hugo)?\.json$/i, "") || "Documentation";
  }

  async load(): Promise<LoadResult | undefined> {
    const info = await stat(this.path);
    const signature = `${info.size}:${info.mtimeMs}`;
    if (signature === this.#signature) return undefined;
    const index = parseHugoIndex(await readFile(this.path, "utf8"));
    this.#signature = signature;
    return index;
  }
}
