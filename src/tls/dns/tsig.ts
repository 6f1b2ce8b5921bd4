import { createHmac, timingSafeEqual } from "node:crypto";
import type { TsigKey } from "../../config/schemas.ts";
import { CLASS, TYPE, Writer, decodeMessage, encodeName, readName, writeRecord, RCODE_NAMES, type Message } from "./wire.ts";

export type { TsigKey };

/** How far apart our clock and the server's may be (RFC 8945 recommends 300 s). */
const FUDGE_SECONDS = 300;

const HASH = { "hmac-sha256": "sha256", "hmac-sha384": "sha384", "hmac-sha512": "sha512" } as const;

/** A signed request: the bytes to send, and the MAC that the response's must be chained to. */
export interface Signed {
  bytes: Uint8Array;
  mac: Uint8Array;
}

/**
 * Signs a message with TSIG (RFC 8945 §4.3): the HMAC of the message and
 * the TSIG variables is appended as a TSIG record, and ARCOUNT raised by one.
 * The secret only ever goes into the HMAC: it is never part of a message,
 * an error or a log line.
 */
export function signMessage(message: Uint8Array, key: TsigKey, now = Date.now()): Signed {
  const timeSigned = Math.floor(now / 1000);
  const mac = createHmac(HASH[key.algorithm], key.secret)
    .update(message)
    .update(variables(key, timeSigned, 0, new Uint8Array()))
    .digest();
  const id = (message[0]! << 8) | message[1]!;
  const rdata = new Writer().bytes(encodeName(key.algorithm)).u48(timeSigned).u16(FUDGE_SECONDS).u16(mac.length).bytes(mac).u16(id).u16(0).u16(0).finish();
  const out = new Writer().bytes(message);
  writeRecord(out, { name: key.name, type: TYPE.TSIG, class: CLASS.ANY, ttl: 0, data: rdata });
  const bytes = out.finish();
  const arcount = ((bytes[10]! << 8) | bytes[11]!) + 1;
  bytes[10] = arcount >> 8;
  bytes[11] = arcount & 0xff;
  return { bytes, mac };
}

/**
 * Checks the TSIG of a response to a signed request: present, by our key,
 * without a TSIG error, with a MAC over the request's MAC and the response.
 * A server that refused the key answers with a TSIG error and no MAC.
 *
 * @throws Error with a one-line reason (BADKEY, BADSIG, BADTIME, a wrong or missing MAC).
 */
export function verifyResponse(response: Uint8Array, request: Signed, key: TsigKey): Message {
  const message = decodeMessage(response);
  const tsig = message.additional.at(-1);
  if (!tsig || tsig.type !== TYPE.TSIG) throw new Error("the server's answer is not signed (no TSIG): is the key configured for this zone?");
  if (tsig.name !== key.name) throw new Error(`the server's answer is signed with another key (${tsig.name})`);
  const fields = readTsig(response, tsig.dataOffset);
  if (fields.error !== 0) throw new Error(`the server refused the TSIG signature: ${RCODE_NAMES[fields.error] ?? fields.error}${fields.error === 18 ? " (clocks differ by more than 5 minutes)" : fields.error === 17 ? " (the server knows no such key: check the key name)" : fields.error === 16 ? " (wrong secret or algorithm)" : ""}`);
  // The response as it was before it was signed: without the TSIG record, ARCOUNT one less, the original id.
  const unsigned = Uint8Array.from(response.subarray(0, tsig.offset));
  const arcount = ((unsigned[10]! << 8) | unsigned[11]!) - 1;
  unsigned[10] = arcount >> 8;
  unsigned[11] = arcount & 0xff;
  unsigned[0] = fields.originalId >> 8;
  unsigned[1] = fields.originalId & 0xff;
  const expected = createHmac(HASH[key.algorithm], key.secret)
    .update(new Writer().u16(request.mac.length).bytes(request.mac).finish())
    .update(unsigned)
    .update(variables(key, fields.timeSigned, fields.error, fields.other, fields.fudge))
    .digest();
  if (fields.mac.length !== expected.length || !timingSafeEqual(fields.mac, expected)) throw new Error("the server's answer has a wrong TSIG signature");
  return message;
}

/** The TSIG variables of RFC 8945 §4.3.3, which the MAC covers after the message. */
function variables(key: TsigKey, timeSigned: number, error: number, other: Uint8Array, fudge = FUDGE_SECONDS): Uint8Array {
  return new Writer().bytes(encodeName(key.name)).u16(CLASS.ANY).u32(0).bytes(encodeName(key.algorithm)).u48(timeSigned).u16(fudge).u16(error).u16(other.length).bytes(other).finish();
}

function readTsig(message: Uint8Array, at: number) {
  const [, afterAlgorithm] = readName(message, at);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let p = afterAlgorithm;
  const timeSigned = view.getUint16(p) * 2 ** 32 + view.getUint32(p + 2);
  const fudge = view.getUint16(p + 6);
  const macSize = view.getUint16(p + 8);
  p += 10;
  const mac = message.subarray(p, p + macSize);
  p += macSize;
  const originalId = view.getUint16(p);
  const error = view.getUint16(p + 2);
  const otherLength = view.getUint16(p + 4);
  const other = message.subarray(p + 6, p + 6 + otherLength);
  return { timeSigned, fudge, mac, originalId, error, other };
}
