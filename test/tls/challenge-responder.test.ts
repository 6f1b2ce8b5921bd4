import { afterAll, expect, test } from "bun:test";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { certificateKeys } from "../../src/tls/bundle.ts";
import { challengeResponder } from "../../src/tls/challenge-responder.ts";
import { tempDir } from "../support/server.ts";

const dir = tempDir();
afterAll(() => dir.remove());
const storage = new FileStorage(dir.path);
const respond = challengeResponder({
  storage,
  domains: ["docs.example.test", "api.example.test"],
  httpsPort: () => 443,
  health: () => Response.json({ status: "unavailable" }, { status: 503 }),
});
const get = (path: string, host = "docs.example.test", method = "GET") => respond(new Request(`http://${host}${path}`, { method, headers: { Host: host } }));
const TOKEN = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

test("answers a challenge in flight with its key authorization, from storage", async () => {
  await storage.store(certificateKeys.challenge(TOKEN), `${TOKEN}.thumbprint`);
  const response = await get(`/.well-known/acme-challenge/${TOKEN}`);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe(`${TOKEN}.thumbprint`);
  await storage.delete(certificateKeys.challenge(TOKEN));
  expect((await get(`/.well-known/acme-challenge/${TOKEN}`)).status).toBe(404);
});

test.each([
  "/.well-known/acme-challenge/",
  "/.well-known/acme-challenge/..",
  "/.well-known/acme-challenge/../../etc/passwd",
  "/.well-known/acme-challenge/%2e%2e%2fetc%2fpasswd",
  "/.well-known/acme-challenge/abc%2Fdef0123456789abcdef",
  `/.well-known/acme-challenge/${"A".repeat(5000)}`,
  "/.well-known/acme-challenge/short",
])("anything but a base64url token in flight is 404 or a redirect, never a file: %s", async (path) => {
  const response = await get(path);
  // `..` segments are resolved by URL parsing, so some land outside the prefix and redirect.
  expect([404, 308]).toContain(response.status);
  expect(await response.text()).not.toContain("root:");
});

test("everything else redirects to https with 308, to our names only", async () => {
  const response = await get("/mcp?x=1", "api.example.test", "POST");
  expect(response.status).toBe(308);
  expect(response.headers.get("location")).toBe("https://api.example.test/mcp?x=1");
  const forged = await get("/", "evil.example.com");
  expect(forged.headers.get("location")).toBe("https://docs.example.test/");
});

test("/healthz is answered on port 80 too", async () => {
  expect((await get("/healthz")).status).toBe(503);
});
