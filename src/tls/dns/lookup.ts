import { getServers } from "node:dns";
import { lookup } from "node:dns/promises";
import { randomInt } from "node:crypto";
import { canonicalIp, parseHostPort } from "../../config/schemas.ts";
import { exchange, formatServer, type HostPort } from "./transport.ts";
import { CLASS, OPCODE, RCODE_NAMES, TYPE, decodeMessage, encodeMessage, rcodeOf, readTargetName, readTxt, type Message } from "./wire.ts";

/**
 * The DNS questions DNS-01 asks, answered by a server we name (never a
 * cache in between): which zone a name is in (SOA), the zone's
 * authoritative servers (NS), and what TXT records a server holds now.
 */

/** The machine's resolvers (resolv.conf), for finding zones and name servers. */
export function systemResolvers(): HostPort[] {
  return getServers().flatMap((server) => parseHostPort(server, 53) ?? []);
}

/** One question to `server`. `recursive` sets RD: ask a resolver to look further, or an authority for its own data. @throws on no answer. */
export async function query(server: HostPort, name: string, type: number, recursive: boolean): Promise<{ message: Message; bytes: Uint8Array }> {
  const flags = (OPCODE.QUERY << 11) | (recursive ? 0x0100 : 0);
  const bytes = await exchange(server, encodeMessage({ id: randomInt(0, 0x10000), flags, questions: [{ name, type, class: CLASS.IN }] }));
  return { message: decodeMessage(bytes), bytes };
}

/**
 * The zone `name` is in: the owner of the SOA record that comes back for
 * it, in the answer (the name is the apex) or in the authority section
 * (a name below it, existing or not), from the first server that knows.
 * @throws Error naming the name and the servers asked.
 */
export async function findZone(name: string, servers: readonly HostPort[]): Promise<string> {
  const problems: string[] = [];
  for (const server of servers) {
    try {
      const { message } = await query(server, name, TYPE.SOA, true);
      const rcode = rcodeOf(message);
      const soa = [...message.answers, ...message.authority].find((record) => record.type === TYPE.SOA);
      if ((rcode === 0 || rcode === 3) && soa) return soa.name;
      problems.push(`${formatServer(server)}: ${RCODE_NAMES[rcode] ?? rcode}${soa ? "" : ", no SOA"}`);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  throw new Error(`could not find the DNS zone of ${name} (asked ${problems.join("; ")}); set MCP_DNS_ZONE`);
}

/**
 * The zone's authoritative servers, from its NS records, each address on
 * port 53: the addresses the answer carries (glue), else those the same
 * resolver gives, else the machine's own lookup.
 * @throws Error when the zone has none that resolve.
 */
export async function nameServers(zone: string, resolvers: readonly HostPort[]): Promise<HostPort[]> {
  let problem = "";
  for (const resolver of resolvers) {
    try {
      const { message, bytes } = await query(resolver, zone, TYPE.NS, true);
      const names = message.answers.filter((record) => record.type === TYPE.NS).map((record) => readTargetName(bytes, record));
      if (!names.length) {
        problem = `${formatServer(resolver)}: no NS records`;
        continue;
      }
      const addresses = await Promise.all(names.map((name) => addressesOf(name, message, resolver)));
      const servers = [...new Set(addresses.flat())].map((host) => ({ host, port: 53 }));
      if (servers.length) return servers;
      problem = `the name servers ${names.join(", ")} do not resolve`;
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  throw new Error(`could not find the name servers of ${zone} (${problem || "no resolver"}); set MCP_DNS_NAMESERVERS`);
}

/** A name server's addresses: from the answer's additional section, the resolver, or the machine. */
async function addressesOf(name: string, answer: Message, resolver: HostPort): Promise<string[]> {
  const glue = answer.additional.filter((record) => record.name === name && (record.type === TYPE.A || record.type === TYPE.AAAA)).map(addressOf);
  if (glue.length) return glue;
  const asked = await Promise.all(
    [TYPE.A, TYPE.AAAA].map((type) =>
      query(resolver, name, type, true)
        .then(({ message }) => message.answers.filter((record) => record.type === type && record.name === name).map(addressOf))
        .catch(() => [] as string[]),
    ),
  );
  if (asked.flat().length) return asked.flat();
  return (await lookup(name, { all: true }).catch(() => [])).map(({ address }) => address);
}

/** The address in an A or AAAA record, as text. */
function addressOf(record: { type: number; data: Uint8Array }): string {
  if (record.type === TYPE.A) return [...record.data].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((record.data[i]! << 8) | record.data[i + 1]!).toString(16));
  return canonicalIp(groups.join(":"))!;
}

/** The TXT values `server` holds for `name` right now, asked without recursion. @throws on no answer or a server error. */
export async function txtValues(server: HostPort, name: string): Promise<string[]> {
  const { message } = await query(server, name, TYPE.TXT, false);
  const rcode = rcodeOf(message);
  if (rcode !== 0 && rcode !== 3) throw new Error(`${formatServer(server)} answered ${RCODE_NAMES[rcode] ?? rcode} for ${name} TXT`);
  return message.answers.filter((record) => record.type === TYPE.TXT && record.name === name.toLowerCase().replace(/\.$/, "")).map(readTxt);
}
