/**
 * How RedisStorage writes values: as they are, or, for secrets when an
 * `encryptionKey` is set, encrypted with AES-256-GCM and bound to their
 * place (`enc:v1:<iv>:<ciphertext>`); a plain value that happens to start
 * with `enc:` or `raw:` is stored with a `raw:` marker, so it is never
 * taken for ciphertext.
 */

const ENCRYPTED_PREFIX = "enc:";
const ENCRYPTED_V1 = "enc:v1:";
/** Marks a plain value that itself starts with `enc:` or `raw:`, so it is never taken for ciphertext. */
const RAW_PREFIX = "raw:";

/**
 * A value stored encrypted could not be decrypted: wrong `encryptionKey`,
 * no `encryptionKey`, or the value was altered.
 */
export class RedisDecryptionError extends Error {
  override readonly name = "RedisDecryptionError";
}

/** Encodes values for Redis and decodes them back (see the top of this file). */
export class ValueCodec {
  readonly #cipher: Cipher | undefined;
  readonly #where: string;

  /**
   * `where` names the storage in errors (a URL without password).
   * @throws TypeError unless `encryptionKey`, when given, is 32 bytes in base64.
   */
  constructor(encryptionKey: string | undefined, where: string) {
    this.#cipher = encryptionKey === undefined ? undefined : new Cipher(encryptionKey);
    this.#where = where;
  }

  async encode(value: string, secret: boolean, context: string): Promise<string> {
    if (secret && this.#cipher) return await this.#cipher.encrypt(value, context);
    if (value.startsWith(ENCRYPTED_PREFIX) || value.startsWith(RAW_PREFIX)) return RAW_PREFIX + value;
    return value;
  }

  /** @throws RedisDecryptionError for an encrypted value that cannot be decrypted, or without a key. */
  async decode(stored: string, context: string): Promise<string> {
    if (stored.startsWith(RAW_PREFIX)) return stored.slice(RAW_PREFIX.length);
    if (!stored.startsWith(ENCRYPTED_PREFIX)) return stored;
    if (!this.#cipher) {
      throw new RedisDecryptionError(`${context} in ${this.#where} is encrypted, but this RedisStorage has no encryptionKey`);
    }
    return await this.#cipher.decrypt(stored, context, this.#where);
  }
}

/** What a secret value is bound to (AES-GCM associated data): its place, without the namespace. */
export function kvContext(key: string): string {
  return `key ${key}`;
}

export function bundleContext(name: string, file: string): string {
  return `bundle ${name} file ${file}`;
}

/** AES-256-GCM with a random 12-byte IV per value, through WebCrypto. */
class Cipher {
  readonly #key: Promise<CryptoKey>;

  /** @throws TypeError unless `base64` decodes to exactly 32 bytes. */
  constructor(base64: string) {
    const raw = decodeBase64(base64);
    if (!raw || raw.length !== 32) {
      // Never echo the key.
      throw new TypeError("redis encryptionKey must be 32 bytes in base64 (make one with `openssl rand -base64 32`)");
    }
    this.#key = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  }

  /** `enc:v1:<iv base64>:<ciphertext+tag base64>`, bound to `context`. */
  async encrypt(plain: string, context: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
      await this.#key,
      new TextEncoder().encode(plain),
    );
    return `${ENCRYPTED_V1}${Buffer.from(iv).toString("base64")}:${Buffer.from(sealed).toString("base64")}`;
  }

  /** @throws RedisDecryptionError on a wrong key, an altered or moved value, or an unknown format. */
  async decrypt(stored: string, context: string, where: string): Promise<string> {
    if (!stored.startsWith(ENCRYPTED_V1)) {
      throw new RedisDecryptionError(`${context} in ${where}: unsupported encrypted format ${JSON.stringify(stored.slice(0, 12))}`);
    }
    const parts = stored.slice(ENCRYPTED_V1.length).split(":");
    const iv = parts.length === 2 ? decodeBase64(parts[0]!) : undefined;
    const sealed = parts.length === 2 ? decodeBase64(parts[1]!) : undefined;
    if (!iv || iv.length !== 12 || !sealed || sealed.length < 16) {
      throw new RedisDecryptionError(`${context} in ${where}: malformed encrypted value`);
    }
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) }, await this.#key, sealed);
    } catch (error) {
      throw new RedisDecryptionError(
        `cannot decrypt ${context} in ${where}: wrong encryptionKey, or the value was altered or copied from another key`,
        { cause: error },
      );
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  }
}

/** Strict base64 (standard or URL-safe, padding optional): `undefined` for anything else. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== "string") return undefined;
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed) || trimmed.replace(/=+$/, "").length % 4 === 1) return undefined;
  const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}
