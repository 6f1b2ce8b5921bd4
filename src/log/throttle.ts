import type { Fields, Logger } from "./index.ts";

/**
 * A log line for an event that can repeat many times a second (a refused
 * request, a closed session): written the first time, then at most once per
 * interval, saying how many happened since. A flood shows in the log as one
 * line per interval with its size, not as the flood itself; the last
 * interval's count is written when it ends, so none is lost.
 *
 * @example
 * const refused = throttled(logger, "warn", "request refused: per-client cap", 60_000);
 * refused({ limit: 32 }); // logged at once
 * refused({ limit: 32 }); // counted: logged as repeated=… when the minute is up
 */
export function throttled(logger: Logger, level: "info" | "warn", msg: string, intervalMs: number): (fields?: Fields) => void {
  let last = -Infinity;
  let suppressed = 0;
  let lastFields: Fields | undefined;
  let timer: Timer | undefined;
  const flush = () => {
    timer = undefined;
    if (suppressed === 0) return;
    logger[level](msg, { ...lastFields, repeated: suppressed, seconds: Math.round((Date.now() - last) / 1000) });
    last = Date.now();
    suppressed = 0;
  };
  return (fields) => {
    if (Date.now() - last >= intervalMs && suppressed === 0) {
      logger[level](msg, fields);
      last = Date.now();
      return;
    }
    suppressed++;
    lastFields = fields;
    if (!timer) {
      timer = setTimeout(flush, Math.max(0, last + intervalMs - Date.now()));
      timer.unref?.();
    }
  };
}
