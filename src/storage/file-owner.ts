import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who wrote a lock file or a half-written bundle version, and whether that
 * writer still runs: a pid means the same process only on the same host and
 * within the same boot, so all three are recorded and compared.
 */

export const HOST = hostname();
/** Host name as it appears in `.partial-` directory names: path-safe and bounded. */
export const HOST_TAG = HOST.replace(/[^A-Za-z0-9.-]/g, "_").slice(0, 64) || "unknown";

/** `false` only when the kernel says no such process; pids we cannot judge count as alive (the lease decides). */
export function isAlive(pid: number): boolean {
  // 0 and negative pids would address process groups.
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

let cachedBootId: string | null | undefined;
/** The kernel's boot id: a pid means the same process only within one boot. `null` off Linux or in sandboxes hiding /proc. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}
