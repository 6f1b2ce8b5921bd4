/** Small statistics for the benchmark: every figure is a median with its spread. */

/** Summary of repeated measurements of one quantity. */
export interface Sample {
  /** Unit of every number here: `ms`, `req/s`, `MiB`, `µs`, or `` for plain numbers. */
  unit: string;
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  /** The measurements, in the order they were taken. */
  values: number[];
}

/** The `q` quantile (0…1) of `values`, by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function sample(values: readonly number[], unit: string): Sample {
  return {
    unit,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    values: [...values],
  };
}

/** A number with a sensible number of digits for a table. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toString();
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** `142 ms (131–160)`: median and min–max, or just the value for a single measurement. */
export function show(s: Sample): string {
  const unit = s.unit ? ` ${s.unit}` : "";
  if (s.min === s.max) return `${num(s.median)}${unit}`;
  return `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})`;
}

/** Seeded PRNG (mulberry32): the generated corpus and queries are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
