import * as v from "valibot";
import { parseDuration } from "../config/units.ts";
import { displayUrl } from "../log/redact.ts";

/**
 * Several documentation sets in one server: how `MCP_DOCS_SOURCES` names
 * them. The form stays readable in an env file:
 *
 *     MCP_DOCS_SOURCES=hono@4=https://hono.dev/llms-full.txt,fastify@5=./docs;refresh=1h
 *
 * Each entry is `name[@version]=source`, optionally followed by options
 * `;refresh=<duration>` and `;base-url=<url>` (a Markdown folder's public
 * URL). Entries are separated by commas that start a new `name=`, so a URL
 * may itself contain commas.
 */

/** One configured documentation set. */
export interface DocSetSpec {
  /** Lowercase name such as `hono`: what `search {source}` takes. */
  name: string;
  /** Version such as `4` or `4.2`, or none. */
  version?: string;
  /** `embedded`, a local path or an http(s) URL, as `MCP_DOCS_SOURCE` takes. */
  source: string;
  /** Own refresh interval in ms (0: never); the server-wide `MCP_DOCS_REFRESH` when absent. */
  refreshMs?: number;
  /** Public base URL of a Markdown folder's pages. */
  baseUrl?: string;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VERSION = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** Where the next entry starts: a comma followed by `name[@version]=`. */
const ENTRY_START = /,(?=\s*[A-Za-z0-9][A-Za-z0-9_-]*(?:@[A-Za-z0-9][A-Za-z0-9._-]*)?\s*=)/;

/**
 * Parses `MCP_DOCS_SOURCES`.
 *
 * @returns the sets in the order given.
 * @throws Error with a one-line reason (the setting's parser prefixes its
 *   name): a malformed entry, a bad option, a duplicate name and version, or
 *   one name both with and without a version (their page ids would overlap).
 */
export function parseDocSets(text: string): DocSetSpec[] {
  const specs: DocSetSpec[] = [];
  for (const raw of text.split(ENTRY_START).map((entry) => entry.trim()).filter(Boolean)) {
    const eq = raw.indexOf("=");
    if (eq <= 0) throw new Error(`each entry must be name[@version]=source (got ${JSON.stringify(displayUrl(raw).slice(0, 80))})`);
    const label = raw.slice(0, eq).trim().toLowerCase();
    const [name = "", version, extra] = label.split("@");
    if (!NAME.test(name) || extra !== undefined) throw new Error(`${JSON.stringify(label)}: a name is letters, digits, - and _ (such as hono or my-docs)`);
    if (version !== undefined && !VERSION.test(version)) throw new Error(`${JSON.stringify(label)}: a version is letters, digits, . - and _ (such as 4 or 4.2)`);
    const spec: DocSetSpec = { name, ...(version ? { version } : {}), source: "" };
    const parts = raw.slice(eq + 1).split(/;(?=\s*(?:refresh|base-url)\s*=)/i);
    spec.source = parts[0]!.trim();
    if (spec.source === "") throw new Error(`${label}: the source is empty`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec.source) && !/^https?:\/\//i.test(spec.source)) {
      throw new Error(`${label}: the source must be 'embedded', a local path, or an http(s) URL`);
    }
    for (const option of parts.slice(1)) {
      const [key = "", value = ""] = option.split(/=(.*)/s).map((piece) => piece.trim());
      if (key.toLowerCase() === "refresh") {
        const ms = parseDuration(value);
        if (ms === undefined) throw new Error(`${label}: refresh must be a duration such as 15m or off`);
        spec.refreshMs = ms;
      } else {
        if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) throw new Error(`${label}: base-url must be an http(s) URL`);
        spec.baseUrl = value;
      }
    }
    specs.push(spec);
  }
  if (specs.length === 0) throw new Error("names no documentation set");
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = setKey(spec);
    if (seen.has(key)) throw new Error(`${key} is named twice`);
    seen.add(key);
  }
  for (const spec of specs) {
    if (spec.version === undefined && specs.some((other) => other.name === spec.name && other.version !== undefined)) {
      throw new Error(`${spec.name} is given both with and without a version; give every ${spec.name} set a version`);
    }
  }
  return specs;
}

/** `name@version`, or `name`: how logs, errors and the data directory name a set. */
export function setKey(spec: Pick<DocSetSpec, "name" | "version">): string {
  return spec.version ? `${spec.name}@${spec.version}` : spec.name;
}

/**
 * The id prefix of a set's pages when several sets are served: `name/` or
 * `name/version/`. Built from the same alphabet as page ids (see ids.ts),
 * so a namespaced id is still a valid id.
 */
export function idPrefix(spec: Pick<DocSetSpec, "name" | "version">): string {
  return spec.version ? `${spec.name}/${spec.version}/` : `${spec.name}/`;
}

/**
 * Orders versions newest first: numeric parts compared as numbers
 * (`10` after `9`), so `4.10` is newer than `4.9`; text that is not a number
 * sorts after every number (a `next` set is never the default).
 */
export function compareVersionsNewestFirst(a: string | undefined, b: string | undefined): number {
  const pa = (a ?? "").split(/[.-]/);
  const pb = (b ?? "").split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return ny - nx;
    if (!Number.isNaN(nx)) return -1;
    if (!Number.isNaN(ny)) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** `MCP_DOCS_SOURCES` as a setting's schema: text in, the sets out, a bad entry an issue naming it. */
export const docSetsSchema = v.pipe(
  v.string(),
  v.trim(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return parseDocSets(dataset.value);
    } catch (error) {
      addIssue({ message: (error as Error).message });
      return NEVER;
    }
  }),
) as v.GenericSchema<string, DocSetSpec[]>;
