import { expect, test } from "bun:test";
import { directoryId, directoryUrl, LETS_ENCRYPT } from "../../src/tls/directory.ts";

test("directories: names and per-CA storage ids", () => {
  expect(directoryUrl("staging")).toBe(LETS_ENCRYPT.staging);
  expect(directoryUrl("https://ca.example.test/dir")).toBe("https://ca.example.test/dir");
  expect(directoryId(LETS_ENCRYPT.production)).toStartWith("acme-v02.api.letsencrypt.org-");
  expect(directoryId(LETS_ENCRYPT.production)).not.toBe(directoryId(LETS_ENCRYPT.staging));
  expect(directoryId("https://127.0.0.1:14000/dir")).toMatch(/^[A-Za-z0-9._-]+$/);
});
