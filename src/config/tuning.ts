import * as v from "valibot";
import { ConfigError } from "./index.ts";

/**
 * Timing knobs for tests and benchmarks, so that retries and renewals run
 * in seconds: `MCP_TEST_TUNING='{"retryMinMs":200,"drainMs":100}'`.
 * Deliberately not a setting (production timing is not something to tune),
 * but checked like one: an unknown knob or a bad value stops the server
 * with a one-line error, so a typo is never silently ignored. Crash points
 * are not knobs: only a test entry point can install them (see
 * test/support/server-entry.ts).
 */
export interface Tuning {
  /** First retry delay after a failed order; doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long a replaced TLS listener keeps answering before it stops. */
  drainMs?: number;
  /** How often storage is polled for a certificate another process stored. */
  storagePollMs?: number;
  /** Per-request timeout towards the CA. */
  acmeTimeoutMs?: number;
  /** Lease of the issuance lock. */
  lockTtlMs?: number;
  /** How often replicas exchange their insights through shared storage. */
  insightsShareMs?: number;
  /** The shortest re-check of an ARI window the CA's Retry-After may ask for (production: a minute). */
  ariRecheckMinMs?: number;
  /** How often DNS-01 checks whether its TXT record is visible (production: 2 s). */
  dnsPollMs?: number;
}

const milliseconds = v.optional(v.pipe(v.number("must be a number of milliseconds"), v.integer("must be a whole number of milliseconds"), v.minValue(1, "must be at least 1 ms")));

const schema = v.strictObject(
  {
    retryMinMs: milliseconds,
    retryMaxMs: milliseconds,
    drainMs: milliseconds,
    storagePollMs: milliseconds,
    acmeTimeoutMs: milliseconds,
    lockTtlMs: milliseconds,
    insightsShareMs: milliseconds,
    ariRecheckMinMs: milliseconds,
    dnsPollMs: milliseconds,
  },
  "is not a knob",
);

/**
 * Parses `MCP_TEST_TUNING`; no value means production timing.
 * @throws ConfigError naming the knob and what is wrong with it.
 */
export function parseTuning(text: string | undefined): Tuning {
  if (text === undefined || text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError("MCP_TEST_TUNING: must be a JSON object such as {\"retryMinMs\":200}");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("MCP_TEST_TUNING: must be a JSON object such as {\"retryMinMs\":200}");
  }
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const issue = result.issues[0];
    const knob = issue.path?.map((item) => String(item.key)).join(".");
    throw new ConfigError(`MCP_TEST_TUNING: ${knob ? `${knob}: ` : ""}${issue.message}; the knobs are ${Object.keys(schema.entries).join(", ")}`);
  }
  return result.output;
}
