import { expect, test } from "bun:test";
import { parseRetryAfter } from "../../src/tls/acme-client.ts";

test("Retry-After in seconds or as a date", () => {
  const now = Date.parse("2026-11-27T00:00:00Z");
  expect(parseRetryAfter("120", now)).toBe(120_000);
  expect(parseRetryAfter("Fri, 27 Nov 2026 00:01:00 GMT", now)).toBe(60_000);
  expect(parseRetryAfter("soon", now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});
