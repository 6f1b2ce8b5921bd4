import { randomInt } from "node:crypto";
import type { TsigKey } from "../../config/schemas.ts";
import { findZone } from "./lookup.ts";
import type { TxtPublisher, TxtRecord } from "./publisher.ts";
import { exchange, formatServer, type HostPort } from "./transport.ts";
import { signMessage, verifyResponse } from "./tsig.ts";
import { CLASS, OPCODE, RCODE_NAMES, TYPE, decodeMessage, encodeMessage, rcodeOf, txtData } from "./wire.ts";

export interface Rfc2136Options {
  /** The primary server that takes updates. */
  server: HostPort;
  /** Signs the updates (and checks the answers' signatures); none for a server that allows updates by address. */
  key?: TsigKey;
  /** The zone to update; otherwise the SOA the server gives for the record's name. */
  zone?: string;
  /** TTL of the records (default 60 s: they live for a minute or two). */
  ttl?: number;
}

/**
 * DNS-01 records through RFC 2136 dynamic update, signed with TSIG (RFC
 * 8945): what BIND, Knot, PowerDNS and many managed DNS services accept.
 * An add is an update that adds one TXT record to the name's set; a remove
 * deletes that one record (class NONE), leaving any other value in place.
 *
 * @example
 * const publisher = rfc2136Publisher({ server: { host: "ns1.example.com", port: 53 }, key });
 */
export function rfc2136Publisher(options: Rfc2136Options): TxtPublisher {
  const zones = new Map<string, Promise<string>>();
  const zoneOf = (name: string): Promise<string> => {
    if (options.zone) return Promise.resolve(options.zone);
    let zone = zones.get(name);
    if (!zone) {
      zone = findZone(name, [options.server]);
      zones.set(name, zone);
      zone.catch(() => zones.delete(name));
    }
    return zone;
  };
  const update = async (action: "add" | "remove", record: TxtRecord) => {
    const zone = await zoneOf(record.name);
    const change = action === "add"
      ? { name: record.name, type: TYPE.TXT, class: CLASS.IN, ttl: options.ttl ?? 60, data: txtData(record.value) }
      : { name: record.name, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, data: txtData(record.value) };
    const message = encodeMessage({ id: randomInt(0, 0x10000), flags: OPCODE.UPDATE << 11, questions: [{ name: zone, type: TYPE.SOA, class: CLASS.IN }], authority: [change] });
    const signed = options.key ? signMessage(message, options.key) : undefined;
    const where = `${record.name} TXT in zone ${zone} at ${formatServer(options.server)}`;
    let answer: Uint8Array;
    try {
      answer = await exchange(options.server, signed?.bytes ?? message);
    } catch (error) {
      throw new Error(`DNS update (${action} ${where}) failed: ${(error as Error).message}`);
    }
    let rcode = rcodeOf(decodeMessage(answer));
    // A refused signature comes as NOTAUTH with the reason (BADSIG, BADKEY, BADTIME) in the answer's TSIG record.
    if (signed && rcode === 9) verifyWith(answer, signed, options.key!, `${action} ${where}`);
    // An unsigned error answer (REFUSED, NOTAUTH with a TSIG error) says more than "not signed" would.
    if (signed && rcode === 0) rcode = rcodeOf(verifyWith(answer, signed, options.key!, `${action} ${where}`));
    if (rcode !== 0) throw new Error(`DNS update (${action} ${where}) was refused: ${RCODE_NAMES[rcode] ?? rcode}${advice(rcode, !!options.key)}`);
  };
  return {
    description: `RFC 2136 updates to ${formatServer(options.server)}${options.key ? ` signed with TSIG key ${options.key.name} (${options.key.algorithm})` : " (unsigned)"}`,
    add: (record) => update("add", record),
    remove: (record) => update("remove", record),
  };
}

function verifyWith(answer: Uint8Array, signed: ReturnType<typeof signMessage>, key: TsigKey, where: string) {
  try {
    return verifyResponse(answer, signed, key);
  } catch (error) {
    throw new Error(`DNS update (${where}): ${(error as Error).message}`);
  }
}

/** What to check, by response code. */
function advice(rcode: number, signed: boolean): string {
  if (rcode === 9) return signed ? ": the server does not accept this TSIG key for the zone (check MCP_DNS_TSIG_KEY's name, algorithm and secret)" : ": the server wants the update signed (set MCP_DNS_TSIG_KEY)";
  if (rcode === 5) return ": the zone's allow-update or update-policy does not allow this key (or this address) to change the name";
  if (rcode === 10) return ": the name is not in that zone (check MCP_DNS_ZONE)";
  if (rcode === 4) return ": the server does not take dynamic updates, or is not the primary for the zone (check MCP_DNS_SERVER)";
  return "";
}
