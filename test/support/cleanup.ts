import type { Subprocess } from "bun";
import { rmSync } from "node:fs";

/**
 * Every child process and temp dir the test harnesses (Pebble, Redis) own,
 * in one place, so an exiting test runner leaves no orphans whichever
 * harnesses it used.
 */
export const liveChildren = new Set<Subprocess>();
export const liveDirs = new Set<string>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // "exit" handlers must be synchronous: SIGKILL works even on SIGSTOPped children.
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}
