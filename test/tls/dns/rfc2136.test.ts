import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseCommand } from "../../../src/config/index.ts";
import type { TsigKey } from "../../../src/config/schemas.ts";
import { findZone, nameServers, txtValues } from "../../../src/tls/dns/lookup.ts";
import { rfc2136Publisher } from "../../../src/tls/dns/rfc2136.ts";
import { startBind, type Bind, type TestKey } from "../../support/bind.ts";
import { rejection } from "../../support/wait.ts";

// RFC 2136 dynamic update with TSIG (src/tls/dns/rfc2136.ts, tsig.ts,
// wire.ts, transport.ts) and the lookups DNS-01 makes (lookup.ts), against
// a real BIND 9 with the zone docs.example.test and two TSIG keys. What the
// zone holds is read back with dig, not with the code under test.

let bind: Bind;
beforeAll(async () => {
  bind = await startBind();
});
afterAll(async () => {
  await bind?.stop();
});

/** The key as the server's settings parse it (the form operators write). */
const parsed = (key: TestKey): TsigKey => {
  const command = parseCommand([], { MCP_DNS_TSIG_KEY: key.setting });
  if (command.kind !== "serve") throw new Error("unexpected");
  return command.config.dnsTsigKey!;
};
const server = () => ({ host: "127.0.0.1", port: bind.port });
const NAME = "_acme-challenge.docs.example.test";

describe("RFC 2136 with TSIG", () => {
  test.each(["sha256", "sha512"] as const)("hmac-%s: adds a TXT record beside another at the same name, and removes exactly that one", async (algorithm) => {
    const publisher = rfc2136Publisher({ server: server(), key: parsed(bind.keys[algorithm]) });
    const name = `_acme-challenge.${algorithm}.docs.example.test`;
    await publisher.add({ name, value: "first-value", domain: `${algorithm}.docs.example.test` });
    await publisher.add({ name, value: "second-value", domain: `*.${algorithm}.docs.example.test` });
    expect((await bind.txt(name)).sort()).toEqual(["first-value", "second-value"]);
    await publisher.remove({ name, value: "first-value", domain: `${algorithm}.docs.example.test` });
    expect(await bind.txt(name)).toEqual(["second-value"]);
    await publisher.remove({ name, value: "second-value", domain: `*.${algorithm}.docs.example.test` });
    expect(await bind.txt(name)).toEqual([]);
    expect(publisher.description).toContain(`TSIG key ${bind.keys[algorithm].name} (hmac-${algorithm})`);
    expect(publisher.description).not.toContain(bind.keys[algorithm].secret);
  });

  test("a wrong secret is refused with the server's reason, and the secret appears in no message", async () => {
    const key = { ...parsed(bind.keys.sha256), secret: Buffer.alloc(32, 1) };
    const error = await rejection(rfc2136Publisher({ server: server(), key, zone: bind.zone }).add({ name: NAME, value: "x", domain: "docs.example.test" }), "an update with a wrong secret");
    expect(error.message).toContain("the server refused the TSIG signature: BADSIG (wrong secret or algorithm)");
    expect(error.message).not.toContain(key.secret.toString("base64"));
    expect(error.message).not.toContain(bind.keys.sha256.secret);
    expect(await bind.txt(NAME)).toEqual([]);
  });

  test("an unknown key name and an unsigned update are refused, each with what to check", async () => {
    const unknown = { ...parsed(bind.keys.sha256), name: "nobody" };
    expect((await rejection(rfc2136Publisher({ server: server(), key: unknown, zone: bind.zone }).add({ name: NAME, value: "x", domain: "d" }), "unknown key")).message).toContain("BADKEY (the server knows no such key");
    expect((await rejection(rfc2136Publisher({ server: server(), zone: bind.zone }).add({ name: NAME, value: "x", domain: "d" }), "unsigned update")).message).toMatch(/was refused: REFUSED: the zone's allow-update/);
  });

  test("a name outside every zone the server has fails in one line naming it", async () => {
    const error = await rejection(rfc2136Publisher({ server: server(), key: parsed(bind.keys.sha256) }).add({ name: "_acme-challenge.other.example", value: "x", domain: "other.example" }), "an update outside the zone");
    expect(error.message).toStartWith("could not find the DNS zone of _acme-challenge.other.example");
    expect(error.message).not.toContain("\n");
  });

  test("a server that does not answer fails within the timeout, naming it", async () => {
    const error = await rejection(rfc2136Publisher({ server: { host: "127.0.0.1", port: 9 }, key: parsed(bind.keys.sha256), zone: bind.zone }).add({ name: NAME, value: "x", domain: "d" }), "an update to nobody");
    expect(error.message).toContain("127.0.0.1:9");
  }, 30_000);
});

describe("lookups", () => {
  test("the zone is the SOA's owner, for the apex and for a name below it that does not exist", async () => {
    expect(await findZone("docs.example.test", [server()])).toBe("docs.example.test");
    expect(await findZone("_acme-challenge.deep.docs.example.test", [server()])).toBe("docs.example.test");
  });

  test("the zone's name servers come from its NS records", async () => {
    expect(await nameServers("docs.example.test", [server()])).toEqual([{ host: "127.0.0.1", port: 53 }]);
  });

  test("TXT values are read from the server itself, without recursion", async () => {
    const publisher = rfc2136Publisher({ server: server(), key: parsed(bind.keys.sha512) });
    const long = "v".repeat(300); // more than one character-string
    await publisher.add({ name: "_acme-challenge.long.docs.example.test", value: long, domain: "long.docs.example.test" });
    expect(await txtValues(server(), "_acme-challenge.long.docs.example.test")).toEqual([long]);
    expect(await txtValues(server(), "_acme-challenge.nothing.docs.example.test")).toEqual([]);
    await publisher.remove({ name: "_acme-challenge.long.docs.example.test", value: long, domain: "long.docs.example.test" });
  });
});
