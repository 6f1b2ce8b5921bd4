import type { Row } from "./report.ts";

export interface Options {
  quick: boolean;
  /** A prebuilt product binary to measure instead of compiling src/main.ts. */
  binary?: string;
}

export interface ItemResult {
  rows: Row[];
  /** Raw measurements and settings, for the results file. */
  details: Record<string, unknown>;
}

export interface Item {
  /** Name for `--only`. */
  name: string;
  number: number;
  title: string;
  run(options: Options): Promise<ItemResult>;
}

/** `quick` or `full` count. */
export function reps(options: Options, full: number, quick: number): number {
  return options.quick ? quick : full;
}
