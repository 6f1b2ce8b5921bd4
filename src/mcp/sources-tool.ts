import * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import type { Library, SetSearchResult } from "../docs/library.ts";
import { compareVersionsNewestFirst, idPrefix } from "../docs/doc-sets.ts";

/**
 * What several documentation sets add to the tools: `search`'s `source`
 * and `version` arguments, the `list_sources` tool, and the notices a
 * search result carries.
 */

export const LIST_SOURCES = "list_sources";

/** `search`'s set arguments; with `sets`, their descriptions name what exists (kept short: descriptions count against the model's context). */
export function setArgs(sets: readonly { name: string; version?: string }[]) {
  const names = [...new Set(sets.map((set) => set.name))];
  const versions = [...new Set(sets.flatMap((set) => (set.version ? [set.version] : [])))];
  const list = (items: string[]) => (items.length > 0 && items.length <= 12 ? ` One of: ${items.join(", ")}.` : "");
  return v.object({
    source: v.optional(
      v.pipe(v.string("source must be a string"), v.maxLength(100, "source must be at most 100 characters"), v.description(`Search only this documentation set (every set when absent).${list(names)}`)),
    ),
    version: v.optional(
      v.pipe(
        v.string("version must be a string"),
        v.maxLength(40, "version must be at most 40 characters"),
        v.description(`Search this version (4 also finds 4.2); the newest of each set when absent.${list(versions)}`),
      ),
    ),
  });
}

const listSourcesResultSchema = v.object({
  sources: v.array(
    v.object({
      name: v.string(),
      version: v.optional(v.string()),
      latest: v.pipe(v.boolean(), v.description("Whether search uses this version when none is given.")),
      pages: v.number(),
      idPrefix: v.pipe(v.string(), v.description("Every page id of this set starts with it.")),
      indexedAt: v.optional(v.string()),
    }),
  ),
});

/** The `list_sources` tool, without its annotations (tools.ts adds the shared ones). */
export function listSourcesDefinition() {
  const schema = (s: v.GenericSchema) => {
    const { $schema: _, ...json } = toJsonSchema(s) as Record<string, unknown>;
    return json as Record<string, unknown> & { type: "object" };
  };
  return {
    name: LIST_SOURCES,
    title: "List documentation sets",
    description: "List the documentation sets this server holds, with their versions and page counts: the values search takes as source and version.",
    inputSchema: schema(v.object({})),
    outputSchema: schema(listSourcesResultSchema),
  };
}

/** What `list_sources` returns: every set, in the configured order. */
export function listSourcesResult(library: Library): Record<string, unknown> {
  const sets = library.sets;
  const several = sets.length > 1;
  return {
    sources: sets.map((set) => {
      const status = set.status();
      const newest = sets.filter((other) => other.name === set.name).sort((a, b) => compareVersionsNewestFirst(a.version, b.version))[0];
      return {
        name: set.name!,
        ...(set.version ? { version: set.version } : {}),
        latest: newest === set,
        pages: status.pages,
        idPrefix: several ? idPrefix(set as { name: string; version?: string }) : "",
        ...(status.indexedAt ? { indexedAt: status.indexedAt } : {}),
      };
    }),
  };
}

/**
 * The notice of a search result, or `undefined`: a query cut at `cutAt`
 * characters, words corrected, or a query of stop words only. Said, not
 * silent: the model learns what was searched, and can ask again.
 */
export function searchNotice(cutAt: number | undefined, found: SetSearchResult): string | undefined {
  const parts: string[] = [];
  if (cutAt !== undefined) parts.push(`Only the first ${cutAt} characters of the query were searched; ask in fewer words for a closer match.`);
  if (found.correctedQuery) {
    const words = found.corrections?.map((change) => JSON.stringify(change.from)).join(", ");
    parts.push(`No page contains ${words}; showing results for ${found.correctedQuery}.`);
  }
  if (found.stopwordsOnly) {
    parts.push("The query has only common words (such as how, to, the), which every page has; nothing was searched. Ask with the words of the topic: a feature, an option, an error message.");
  }
  return parts.length > 0 ? parts.join(" ") : undefined;
}
