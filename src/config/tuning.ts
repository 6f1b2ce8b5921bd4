/**
 * Timing knobs for tests and benchmarks, so that retries and renewals run
 * in seconds: `MCP_TEST_TUNING='{"retryMinMs":200,"drainMs":100}'`.
 * Deliberately not a setting: production timing is not something to tune.
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
}
