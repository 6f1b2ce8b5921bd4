/**
 * Page ids: the one name a page has in tool calls (`fetch {id}`), resource
 * URIs (`docs://<id>`) and the server's own `/docs/<id>` URLs.
 *
 * Ids are made here from paths and permalinks and nowhere else, so the
 * guarantee that an id never escapes the index (no `..`, no leading `/`, a
 * closed alphabet) holds for every source.
 */

/** Turns a path such as `Guide/Getting Started.md` or `/docs/api/` into an id (`guide/getting-started`). */
export function idFromPath(path: string): string {
  const segments = path
    .toLowerCase()
    .split(/[\\/]+/)
    .map((segment) =>
      segment
        .replace(/[^a-z0-9._-]+/g, "-")
        .replace(/^[-.]+|[-.]+$/g, ""),
    )
    .filter((segment) => segment !== "");
  return segments.join("/") || "index";
}

/** The id of a page published at `permalink`: its URL path (`https://hono.dev/docs/api/` → `docs/api`). */
export function idFromPermalink(permalink: string): string {
  let path = permalink;
  if (URL.canParse(permalink)) path = new URL(permalink).pathname;
  return idFromPath(decodeURIComponentSafe(path.replace(/\.html?$/i, "")));
}

/** True for text that could be an id: the shape `idFromPath` produces. Checked before any lookup. */
export function isValidId(id: string): boolean {
  return /^[a-z0-9_][a-z0-9._-]*(\/[a-z0-9_][a-z0-9._-]*)*$/.test(id) && !id.split("/").some((s) => /^\.+$/.test(s)) && id.length <= 512;
}

/** Makes ids unique in order of appearance: the second `intro` becomes `intro-2`. */
export function uniqueIds<T extends { id: string }>(pages: T[]): T[] {
  const seen = new Set<string>();
  for (const page of pages) {
    let id = page.id;
    for (let n = 2; seen.has(id); n++) id = `${page.id}-${n}`;
    page.id = id;
    seen.add(id);
  }
  return pages;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
