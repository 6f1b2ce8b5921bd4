import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BundleFile } from "../../src/storage/storage.ts";

/** A certificate-shaped bundle whose three files all carry `marker`, so a mix of two versions shows. */
export function bundle(marker: number | string): Record<string, BundleFile> {
  return {
    "cert.pem": { data: `cert ${marker}` },
    "key.pem": { data: `key ${marker}`, secret: true },
    "meta.json": { data: JSON.stringify({ marker: String(marker) }) },
  };
}

/** Fresh storage roots under temp dirs, removed by `removeAll()`. */
export function storageRoots() {
  const temps: string[] = [];
  return {
    /** A not yet existing storage root inside a new temp dir (so its creation, and its mode, can be checked). */
    async fresh(): Promise<{ parent: string; root: string }> {
      const parent = await mkdtemp(join(tmpdir(), "file-storage-"));
      temps.push(parent);
      return { parent, root: join(parent, "certs") };
    },
    async removeAll(): Promise<void> {
      await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** A pid that surely belongs to no process: one that just exited. */
export async function deadPid(): Promise<number> {
  const child = Bun.spawn(["true"]);
  await child.exited;
  return child.pid;
}
