/** A TXT record DNS-01 publishes: `_acme-challenge.<domain>` with the key authorization's digest. */
export interface TxtRecord {
  /** The record's name, such as `_acme-challenge.docs.example.com` (no final dot). */
  name: string;
  value: string;
  /** The name being validated, such as `docs.example.com` (a wildcard's base name). */
  domain: string;
}

/**
 * Publishes and withdraws DNS-01's TXT records in one way: RFC 2136 dynamic
 * update (rfc2136.ts) or an operator's command (hook-solver.ts). Two
 * records may share a name (a wildcard and its base name are validated
 * with one name each), so `add` adds beside what is there and `remove`
 * removes exactly the record given.
 */
export interface TxtPublisher {
  /** For the log: how records are published, without secrets. */
  readonly description: string;
  /** @throws Error with a one-line reason when the record could not be published. */
  add(record: TxtRecord): Promise<void>;
  /** @throws Error when the record could not be removed (the order goes on: cleanup failures are logged, not fatal). */
  remove(record: TxtRecord): Promise<void>;
}
