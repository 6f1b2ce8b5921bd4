import type { BundleFile, Lock, Storage, StoreOptions } from "../../src/storage/storage.ts";

/** A fresh error shaped like the one Node/Bun raise when the disk is full. */
export function diskFullError(): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error("ENOSPC: no space left on device");
  error.code = "ENOSPC";
  error.errno = -28;
  error.syscall = "write";
  return error;
}

/** A fresh error shaped like the one Node/Bun raise when the device fails a read. */
export function ioError(): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error("EIO: i/o error");
  error.code = "EIO";
  error.errno = -5;
  error.syscall = "read";
  return error;
}

/**
 * Fault injection for tests: wraps a `Storage` and, on demand, makes its
 * writes (`store`, `storeBundle`, `delete`) or its reads (`load`,
 * `loadBundle`, `list`) reject. Tests run as root, where `chmod` does not
 * stop a write, so this is how a full or broken disk is simulated.
 *
 * A failing call rejects with the configured error without reaching the
 * inner storage, so the inner state is exactly what it was before the call:
 * what the contract promises after a failed write. Locks always pass through:
 * tests of a failing disk still need to coordinate.
 */
export class FaultyStorage implements Storage {
  readonly description: string;
  readonly #inner: Storage;
  #writeError: Error | undefined;
  #readError: Error | undefined;

  constructor(inner: Storage) {
    this.#inner = inner;
    this.description = `${inner.description} (fault injection)`;
  }

  /** From now on writes reject with `error` (default: ENOSPC, no space left on device). */
  failWrites(error: Error = diskFullError()): void {
    this.#writeError = error;
  }

  /** From now on reads reject with `error` (default: EIO, i/o error: a full disk does not fail reads). */
  failReads(error: Error = ioError()): void {
    this.#readError = error;
  }

  /** Ends every injected fault. */
  heal(): void {
    this.#writeError = undefined;
    this.#readError = undefined;
  }

  async load(key: string): Promise<string | undefined> {
    if (this.#readError) throw this.#readError;
    return await this.#inner.load(key);
  }

  async store(key: string, value: string, options?: StoreOptions): Promise<void> {
    if (this.#writeError) throw this.#writeError;
    await this.#inner.store(key, value, options);
  }

  async delete(key: string): Promise<void> {
    if (this.#writeError) throw this.#writeError;
    await this.#inner.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    if (this.#readError) throw this.#readError;
    return await this.#inner.list(prefix);
  }

  async loadBundle(name: string): Promise<Record<string, string> | undefined> {
    if (this.#readError) throw this.#readError;
    return await this.#inner.loadBundle(name);
  }

  async storeBundle(name: string, files: Record<string, BundleFile>): Promise<void> {
    if (this.#writeError) throw this.#writeError;
    await this.#inner.storeBundle(name, files);
  }

  tryLock(name: string, ttlMs: number): Promise<Lock | undefined> {
    return this.#inner.tryLock(name, ttlMs);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
