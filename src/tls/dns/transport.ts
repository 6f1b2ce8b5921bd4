import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP, Socket } from "node:net";
import type { HostPort } from "../../config/schemas.ts";
import { decodeMessage, isTruncated } from "./wire.ts";

export type { HostPort };

export interface ExchangeOptions {
  /** Per attempt (default 2 s); UDP tries three times. */
  timeoutMs?: number;
  /** Skip UDP (large messages, or a server that only updates over TCP). */
  tcp?: boolean;
}

/** `host:port`, with brackets for IPv6, for messages. */
export const formatServer = ({ host, port }: HostPort): string => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * Sends one DNS message and returns the answer with the same id: over UDP
 * (three tries), and over TCP when the answer came truncated or `tcp` is set.
 *
 * @throws Error naming the server when it does not answer in time or refuses the connection.
 */
export async function exchange(server: HostPort, message: Uint8Array, options: ExchangeOptions = {}): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const address = isIP(server.host) ? server.host : (await lookup(server.host).catch(() => { throw new Error(`cannot resolve the DNS server ${server.host}`); })).address;
  if (!options.tcp) {
    const answer = await overUdp(address, server.port, message, timeoutMs).catch((error: Error) => {
      throw new Error(`${formatServer(server)}: ${error.message}`);
    });
    if (!isTruncated(decodeMessage(answer))) return answer;
  }
  return overTcp(address, server.port, message, timeoutMs).catch((error: Error) => {
    throw new Error(`${formatServer(server)} (tcp): ${error.message}`);
  });
}

const idOf = (bytes: Uint8Array) => (bytes[0]! << 8) | bytes[1]!;

function overUdp(address: string, port: number, message: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(address) === 6 ? "udp6" : "udp4");
    let tries = 0;
    let timer: Timer | undefined;
    const finish = (error: Error | undefined, answer?: Uint8Array) => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer!);
    };
    const send = () => {
      if (++tries > 3) return finish(new Error(`no answer within ${(3 * timeoutMs) / 1000} s`));
      socket.send(message, port, address, (error) => error && finish(error));
      timer = setTimeout(send, timeoutMs);
    };
    socket.on("message", (answer) => {
      // Anything else (a late answer to an earlier try, a stray packet) is not ours.
      if (answer.length >= 12 && idOf(answer) === idOf(message)) finish(undefined, new Uint8Array(answer));
    });
    socket.on("error", (error) => finish(error));
    send();
  });
}

function overTcp(address: string, port: number, message: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const finish = (error: Error | undefined, answer?: Uint8Array) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    socket.on("error", (error) => finish(error));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(undefined, new Uint8Array(received.subarray(2, 2 + received.readUInt16BE(0))));
    });
    socket.on("end", () => finish(new Error("the connection closed before a whole answer")));
    socket.connect(port, address, () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
  });
}
