import type { DocsSource, LoadResult } from "./source.ts";
import { guidePages } from "./guide-pages.ts";
// A macro: the guide's index is built when the server is compiled (or, with
// `bun run`, transpiled), and only its bytes are in the program.
import { guideIndexSnapshot } from "./embedded-index.ts" with { type: "macro" };

const GUIDE_INDEX = guideIndexSnapshot();

/** The server's own user guide, compiled in. It never changes while running. */
export class EmbeddedSource implements DocsSource {
  readonly description = "embedded";
  readonly defaultTitle = "mcp-server user guide";
  #loaded = false;

  /** @param baseUrl where the server publishes its pages (`<origin>/docs/`). */
  constructor(private readonly baseUrl: string) {}

  async load(): Promise<LoadResult | undefined> {
    if (this.#loaded) return undefined;
    this.#loaded = true;
    return { pages: guidePages(this.baseUrl), prebuiltIndex: Buffer.from(GUIDE_INDEX, "base64") };
  }
}
