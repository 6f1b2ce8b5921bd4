/**
 * Who "one client" is, for the per-client caps. An IPv4 address is one
 * client. An IPv6 address is not: a single host, VM or household is handed a
 * whole /64 (RFC 6177), so a per-address cap would let it open caps by the
 * billion. IPv6 clients are grouped by a prefix (64 bits by default; 128
 * tells every address apart), and IPv4-mapped IPv6 addresses count as the
 * IPv4 address they carry.
 *
 * @example
 * clientKey("2001:db8:1:2:3:4:5:6", 64); // "2001:db8:1:2::/64"
 * clientKey("::ffff:192.0.2.7", 64);     // "192.0.2.7"
 */
export function clientKey(address: string | undefined, ipv6Prefix: number): string {
  if (!address) return "unknown";
  const zoneless = address.split("%", 1)[0]!.toLowerCase();
  if (!zoneless.includes(":")) return zoneless;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(zoneless);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(zoneless);
  if (!groups) return zoneless;
  if (ipv6Prefix >= 128) return groups.map((group) => group.toString(16)).join(":");
  const kept: number[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, ipv6Prefix - i * 16));
    kept.push(bits === 0 ? 0 : groups[i]! & (0xffff << (16 - bits)) & 0xffff);
  }
  // Shortest form of the network: trailing zero groups collapse to "::".
  let end = 8;
  while (end > 0 && kept[end - 1] === 0) end--;
  return `${kept.slice(0, end).map((group) => group.toString(16)).join(":")}::/${ipv6Prefix}`;
}

/** The eight 16-bit groups of an IPv6 address, or `undefined` for anything else. */
function expandIpv6(address: string): number[] | undefined {
  let text = address;
  // A trailing dotted IPv4 part (::1.2.3.4, 64:ff9b::192.0.2.1) is two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const parts = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const groups = parts.map((part) => (/^[0-9a-f]{1,4}$/.test(part) ? parseInt(part, 16) : Number.NaN));
  return groups.some(Number.isNaN) ? undefined : groups;
}
