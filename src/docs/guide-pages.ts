/**
 * The server's own user guide, as pages: the Markdown files of
 * `src/docs/guide`, compiled into the binary.
 */
import type { Page } from "./page.ts";
import { pageFromMarkdown } from "./markdown.ts";
import { settingsTable } from "../config/settings-table.ts";
// Imported as text so `bun build --compile` puts the guide inside the binary:
// it serves with no files around it.
import index from "./guide/index.md" with { type: "text" };
import gettingStarted from "./guide/getting-started.md" with { type: "text" };
import configuration from "./guide/configuration.md" with { type: "text" };
import documentationSources from "./guide/documentation-sources.md" with { type: "text" };
import search from "./guide/search.md" with { type: "text" };
import connectingClients from "./guide/connecting-clients.md" with { type: "text" };
import https from "./guide/https.md" with { type: "text" };
import security from "./guide/security.md" with { type: "text" };
import troubleshooting from "./guide/troubleshooting.md" with { type: "text" };

/** The guide in reading order: llms.txt and resource listings follow it. */
const GUIDE: Record<string, string> = {
  "index.md": index,
  "getting-started.md": gettingStarted,
  "configuration.md": configuration,
  "documentation-sources.md": documentationSources,
  "search.md": search,
  "connecting-clients.md": connectingClients,
  "https.md": https,
  "security.md": security,
  "troubleshooting.md": troubleshooting,
};

/** The guide's pages, with URLs under `baseUrl` (`<origin>/docs/`). */
export function guidePages(baseUrl: string): Page[] {
  return Object.entries(GUIDE).map(([file, source]) => {
    // The settings table is generated from the parser's own table, so the
    // guide always lists exactly the settings this build accepts.
    const text = source.replace("<!-- settings-table -->", settingsTable());
    const page = pageFromMarkdown(file, text, baseUrl);
    // The guide's front page would otherwise be `index`, which reads oddly
    // in `docs://index`; `overview` says what it is.
    return file === "index.md" ? { ...page, id: "overview", url: new URL("overview", baseUrl).href } : page;
  });
}
