/** Rows of the result table: a measurement against its baseline, as a ratio with a target. */
import { num, show, type Sample } from "./stats.ts";

export interface Target {
  /** `<=`: lower is better (times, memory); `>=`: higher is better (throughput, relevance). */
  op: "<=" | ">=";
  value: number;
}

export interface Row {
  /** Stable key for comparing runs, such as `cold-tls.sdk`. */
  key: string;
  /** Item number and what is compared. */
  item: string;
  measured: string;
  baseline: string;
  ratio?: number;
  target?: Target;
  /** How the target reads in the table, when it is not a ratio (e.g. `0 failures`). */
  targetText?: string;
  /** `undefined`: informational, no target. */
  pass?: boolean;
  note?: string;
  /** Raw figures for the results file. */
  data?: Record<string, unknown>;
}

/** A row comparing two samples' medians. */
export function ratioRow(
  key: string,
  item: string,
  measured: Sample,
  baseline: Sample,
  target?: Target,
  extra: { note?: string; measuredText?: string; baselineText?: string } = {},
): Row {
  const ratio = measured.median / baseline.median;
  return {
    key,
    item,
    measured: extra.measuredText ?? show(measured),
    baseline: extra.baselineText ?? show(baseline),
    ratio,
    target,
    pass: target ? meets(ratio, target) : undefined,
    note: extra.note,
    data: { measured, baseline },
  };
}

export function meets(ratio: number, target: Target): boolean {
  return target.op === "<=" ? ratio <= target.value : ratio >= target.value;
}

/** A row that could not be measured (a mode that does not exist, a failed set-up). */
export function naRow(key: string, item: string, reason: string, target?: Target, targetText?: string): Row {
  return { key, item, measured: "n/a", baseline: "–", target, targetText, pass: target ? false : undefined, note: reason };
}

function cell(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** The table, aligned, with notes numbered below it. */
export function formatTable(rows: Row[]): string {
  const notes: string[] = [];
  const body = rows.map((row) => {
    let mark = "";
    if (row.note) {
      notes.push(row.note);
      mark = ` [${notes.length}]`;
    }
    return [
      row.item + mark,
      row.measured,
      row.baseline,
      row.ratio === undefined || !Number.isFinite(row.ratio) ? "–" : `${num(row.ratio)}×`,
      row.targetText ?? (row.target ? `${row.target.op} ${row.target.value}×` : "–"),
      row.pass === undefined ? "info" : row.pass ? "pass" : "MISS",
    ];
  });
  const header = ["item", "measured", "baseline", "ratio", "target", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => cell(c, widths[i]!)).join(" | ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...body.map(line)];
  if (notes.length) out.push("", ...notes.map((note, i) => `[${i + 1}] ${note}`));
  return out.join("\n");
}

/** The same table as Markdown, for the README. */
export function formatMarkdown(rows: Row[]): string {
  const esc = (text: string) => text.replaceAll("|", "\\|");
  const out = ["| item | measured | baseline | ratio | target | result |", "|---|---|---|---|---|---|"];
  for (const row of rows) {
    out.push(
      `| ${esc(row.item)} | ${esc(row.measured)} | ${esc(row.baseline)} | ${row.ratio === undefined || !Number.isFinite(row.ratio) ? "–" : `${num(row.ratio)}×`} | ${row.targetText ?? (row.target ? `${row.target.op} ${row.target.value}×` : "–")} | ${row.pass === undefined ? "info" : row.pass ? "pass" : "**miss**"} |`,
    );
  }
  return out.join("\n");
}
