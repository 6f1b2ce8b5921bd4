/**
 * Parsers for the human units settings are written in: durations (`15m`) and
 * byte sizes (`1m`). Pure functions; they return `undefined` for text they do
 * not understand so the caller can say which setting was wrong.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses `250ms`, `90s`, `15m`, `2h`, `1d` (or a bare number of seconds) into
 * milliseconds. `0` and `off` mean "disabled" and give 0.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  if (value === "off" || value === "0") return 0;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value);
  if (!match) return undefined;
  const unit = DURATION_UNITS[match[2] ?? "s"]!;
  return Math.round(Number(match[1]) * unit);
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses `1048576`, `512k`, `1m`, `1mb`, `2g` (binary units) into bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg])?(?:i?b)?$/.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * SIZE_UNITS[match[2] ?? "b"]!);
}
