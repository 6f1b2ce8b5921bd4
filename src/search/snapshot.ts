/**
 * A built index as bytes, and back: how the embedded guide's index is built
 * when the server is compiled, not each time it starts (a cold start then
 * does no indexing; see src/docs/embedded-index.ts).
 *
 * Layout: a 4-byte length, a JSON header, then each binary part (the
 * SQLite database, then the typed arrays of both postings) as a 4-byte
 * length and its bytes, every part starting at a multiple of 4. Numbers
 * are little-endian, as the typed arrays are on every platform Bun runs on.
 */
import type { PostingsParts } from "./postings.ts";

/** Bumped whenever the layout or what it holds changes: an older snapshot is then rebuilt, not misread. */
export const SNAPSHOT_FORMAT = 1;

export interface SnapshotHeader {
  format: number;
  /** Of the pages indexed (see {@link pagesFingerprint}): a snapshot only stands in for an index of the same pages. */
  fingerprint: string;
  /** Per page: its id and first section's rowid (titles and URLs are the pages' own). */
  pages: { id: string; lead: number }[];
  sections: { page: number; heading: string; anchor: string; body: string }[];
  sectionTerms: string[];
  titleTerms: string[];
}

export interface SnapshotParts {
  header: SnapshotHeader;
  database: Uint8Array;
  sections: PostingsParts;
  titles: PostingsParts;
}

export function encodeSnapshot(parts: SnapshotParts): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(parts.header));
  const chunks: Uint8Array[] = [header, parts.database];
  for (const postings of [parts.sections, parts.titles]) {
    for (const array of [postings.starts, postings.counts, postings.rowids, postings.scores]) {
      chunks.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    }
  }
  const size = chunks.reduce((total, chunk) => total + 4 + align(chunk.byteLength), 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const chunk of chunks) {
    view.setUint32(at, chunk.byteLength, true);
    bytes.set(chunk, at + 4);
    at += 4 + align(chunk.byteLength);
  }
  return bytes;
}

/**
 * The parts of a snapshot, or `undefined` when the bytes are not one of this
 * format (truncated, or from another version of the server).
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotParts | undefined {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    const next = (): Uint8Array => {
      const length = view.getUint32(at, true);
      if (at + 4 + length > bytes.byteLength) throw new RangeError("truncated snapshot");
      // A copy, in a buffer of its own: the typed arrays need it aligned, and
      // a Buffer's slice() would be a view into a shared pool.
      const chunk = new Uint8Array(bytes.subarray(at + 4, at + 4 + length));
      at += 4 + align(length);
      return chunk;
    };
    const header = JSON.parse(new TextDecoder().decode(next())) as SnapshotHeader;
    if (header.format !== SNAPSHOT_FORMAT) return undefined;
    const database = next();
    const postings = (terms: string[]): PostingsParts => ({
      terms,
      starts: new Int32Array(next().buffer),
      counts: new Int32Array(next().buffer),
      rowids: new Int32Array(next().buffer),
      scores: new Float32Array(next().buffer),
    });
    const sections = postings(header.sectionTerms);
    const titles = postings(header.titleTerms);
    return { header, database, sections, titles };
  } catch {
    return undefined;
  }
}

/**
 * What identifies a set of pages for indexing: everything indexed (ids,
 * titles, summaries, tags, text), and nothing that is not (URLs).
 */
export function pagesFingerprint(pages: readonly { id: string; title: string; summary?: string; tags?: string[]; markdown: string }[]): string {
  let hash = 0n;
  for (const page of pages) {
    hash = Bun.hash.wyhash(JSON.stringify([page.id, page.title, page.summary ?? "", page.tags ?? [], page.markdown]), hash);
  }
  return `${pages.length}:${hash.toString(16)}`;
}

function align(length: number): number {
  return (length + 3) & ~3;
}
