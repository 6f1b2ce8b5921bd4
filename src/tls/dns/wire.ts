/**
 * The DNS wire format (RFC 1035 §4), as far as DNS-01 needs it: queries,
 * RFC 2136 updates, and reading the answers (with name compression). Names
 * are written uncompressed, lowercase, as TSIG's MAC wants them anyway.
 */

export const TYPE = { A: 1, NS: 2, SOA: 6, TXT: 16, AAAA: 28, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;

/** Response codes, by number, for messages (RFC 1035, 2136, 8945). */
export const RCODE_NAMES: Record<number, string> = {
  0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
  6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
  16: "BADSIG", 17: "BADKEY", 18: "BADTIME",
};

/** A resource record to write. `data` is the RDATA, already encoded. */
export interface RecordOut {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Uint8Array;
}

/** A resource record read from a message. */
export interface RecordIn extends RecordOut {
  /** Offset of the record's first byte in the message (TSIG verification cuts there). */
  offset: number;
  /** Offset of the RDATA in the message (names in it may point back into the message). */
  dataOffset: number;
}

export interface Message {
  id: number;
  /** The 16 flag bits: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode. */
  flags: number;
  /** Question, or an update's zone. */
  questions: { name: string; type: number; class: number }[];
  /** Answers, or an update's prerequisites. */
  answers: RecordIn[];
  /** Authority, or an update's updates. */
  authority: RecordIn[];
  additional: RecordIn[];
}

export const rcodeOf = (message: Pick<Message, "flags">): number => message.flags & 0x0f;
export const isTruncated = (message: Pick<Message, "flags">): boolean => (message.flags & 0x0200) !== 0;

/** A name in wire form: lowercase labels, no compression. @throws on a label over 63 bytes or a name over 255. */
export function encodeName(name: string): Uint8Array {
  const labels = name.replace(/\.$/, "").toLowerCase().split(".").filter(Boolean);
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = new TextEncoder().encode(label);
    if (bytes.length > 63) throw new Error(`DNS label too long in ${name}`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > 255) throw new Error(`DNS name too long: ${name}`);
  return Uint8Array.from(parts);
}

/** TXT RDATA: the value as character-strings of at most 255 bytes each. */
export function txtData(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  const parts: number[] = [];
  for (let at = 0; at < bytes.length || at === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(chunk.length, ...chunk);
    if (bytes.length === 0) break;
  }
  return Uint8Array.from(parts);
}

/** Writes a message. Sections are written in order; counts come from their lengths. */
export function encodeMessage(message: { id: number; flags: number; questions: Message["questions"]; answers?: RecordOut[]; authority?: RecordOut[]; additional?: RecordOut[] }): Uint8Array {
  const out = new Writer();
  const { answers = [], authority = [], additional = [] } = message;
  out.u16(message.id).u16(message.flags).u16(message.questions.length).u16(answers.length).u16(authority.length).u16(additional.length);
  for (const question of message.questions) out.bytes(encodeName(question.name)).u16(question.type).u16(question.class);
  for (const record of [...answers, ...authority, ...additional]) writeRecord(out, record);
  return out.finish();
}

export function writeRecord(out: Writer, record: RecordOut): void {
  out.bytes(encodeName(record.name)).u16(record.type).u16(record.class).u32(record.ttl).u16(record.data.length).bytes(record.data);
}

/** Reads a message. @throws on a malformed one. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length < 12) throw new Error("DNS message too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = [4, 6, 8, 10].map((at) => view.getUint16(at));
  let at = 12;
  const questions: Message["questions"] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const [name, next] = readName(bytes, at);
    questions.push({ name, type: view.getUint16(next), class: view.getUint16(next + 2) });
    at = next + 4;
  }
  const sections: RecordIn[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const offset = at;
      const [name, next] = readName(bytes, at);
      if (next + 10 > bytes.length) throw new Error("DNS record truncated");
      const length = view.getUint16(next + 8);
      const dataOffset = next + 10;
      if (dataOffset + length > bytes.length) throw new Error("DNS record data truncated");
      sections[s]!.push({ name, type: view.getUint16(next), class: view.getUint16(next + 2), ttl: view.getUint32(next + 4), data: bytes.subarray(dataOffset, dataOffset + length), offset, dataOffset });
      at = dataOffset + length;
    }
  }
  return { id: view.getUint16(0), flags: view.getUint16(2), questions, answers: sections[0]!, authority: sections[1]!, additional: sections[2]! };
}

/** A (possibly compressed) name at `at`: the name without the final dot, lowercase, and the offset after it. */
export function readName(bytes: Uint8Array, at: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let jumps = 0; ; ) {
    const length = bytes[at];
    if (length === undefined) throw new Error("DNS name runs past the message");
    if (length === 0) {
      at += 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > 64) throw new Error("DNS name compression loop");
      if (end === -1) end = at + 2;
      at = ((length & 0x3f) << 8) | bytes[at + 1]!;
      continue;
    }
    labels.push(new TextDecoder().decode(bytes.subarray(at + 1, at + 1 + length)).toLowerCase());
    at += 1 + length;
  }
  return [labels.join("."), end === -1 ? at : end];
}

/** The strings of a TXT record, joined (a long value is split in 255-byte pieces). */
export function readTxt(record: RecordIn): string {
  const parts: string[] = [];
  for (let at = 0; at < record.data.length; ) {
    const length = record.data[at]!;
    parts.push(new TextDecoder().decode(record.data.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return parts.join("");
}

/** The name in an NS record, or the zone's primary server in an SOA record (its first field). */
export function readTargetName(message: Uint8Array, record: RecordIn): string {
  return readName(message, record.dataOffset)[0];
}

/** Bytes appended in network order. */
export class Writer {
  readonly #parts: number[] = [];
  u16(value: number): this {
    this.#parts.push((value >> 8) & 0xff, value & 0xff);
    return this;
  }
  u32(value: number): this {
    return this.u16(Math.floor(value / 0x10000)).u16(value & 0xffff);
  }
  /** 48 bits, for TSIG's time signed. */
  u48(value: number): this {
    return this.u16(Math.floor(value / 2 ** 32)).u32(value % 2 ** 32);
  }
  bytes(data: Uint8Array): this {
    for (const byte of data) this.#parts.push(byte);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
