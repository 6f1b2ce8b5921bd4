import type { LogLevel } from "../config/index.ts";

/**
 * One line per event on stdout, in logfmt, with the level and component on
 * every line: `ts=… level=info component=docs msg="indexed" pages=85`.
 * journald and grep both read it as it is, and no line ever spans two.
 *
 * Callers pass facts as fields, never secrets: the logger has no way to tell
 * a private key from any other string, so keys and tokens must not be passed.
 */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger for a part of the program; its lines carry `component=<name>`. */
  child(component: string): Logger;
}

export type Fields = Record<string, string | number | boolean | null | undefined | Error>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes to `sink` (stdout by default) every event at `level` or above. */
export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = (line) => process.stdout.write(line + "\n"),
  component = "main",
): Logger {
  const min = RANK[level];
  const emit = (at: LogLevel, msg: string, fields?: Fields) => {
    if (RANK[at] < min) return;
    let line = `ts=${new Date().toISOString()} level=${at} component=${component} msg=${quote(msg)}`;
    for (const [key, value] of Object.entries(fields ?? {})) {
      if (value === undefined) continue;
      line += ` ${key}=${quote(value instanceof Error ? value.message : String(value))}`;
    }
    sink(line);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (name) => createLogger(level, sink, name),
  };
}

function quote(value: string): string {
  // Bare when safe; otherwise JSON-quoted, which also escapes newlines so a
  // hostile value (a fetched page title, a CA's error detail) cannot forge lines.
  return value !== "" && /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
}
