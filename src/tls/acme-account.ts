import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { AcmeClient, AcmeError, createAccountKey, type AcmeOrder, type AcmeOrderRequest } from "./acme-client.ts";
import { certificateKeys } from "./bundle.ts";

export interface AccountSettings {
  storage: Storage;
  directoryUrl: string;
  /** Contact for the CA's expiry warnings. Another address than the stored account's registers a new account. */
  email?: string;
  /** External account binding, for CAs that require it. The HMAC key is a secret: never logged. */
  eab?: { kid: string; hmacKey: string };
  timeoutMs?: number;
  pollTimeoutMs?: number;
  logger: Logger;
}

/** What storage keeps of an account besides its key. */
interface StoredAccount {
  url: string;
  email?: string;
}

/**
 * The ACME account for one CA directory. Its key and URL are kept in
 * storage per directory and reused. The key is stored before the account is
 * registered, so a crash in between cannot leave an account at the CA whose
 * key we lost; an account the CA no longer knows is registered again with
 * the same key.
 */
export class AcmeAccount {
  readonly #settings: AccountSettings;
  readonly #key: string;
  #client!: AcmeClient;

  private constructor(settings: AccountSettings, key: string) {
    this.#settings = settings;
    this.#key = key;
  }

  /**
   * The account as storage has it, creating its key and registering it
   * when there is none (or the contact changed).
   * @throws AcmeError from the CA, or a storage error.
   */
  static async open(settings: AccountSettings): Promise<AcmeAccount> {
    const { storage, directoryUrl, logger } = settings;
    let key = await storage.load(certificateKeys.accountKey(directoryUrl));
    if (!key) {
      key = await createAccountKey();
      await storage.store(certificateKeys.accountKey(directoryUrl), key, { secret: true });
      logger.info("created ACME account key", { directory: directoryUrl });
    }
    const stored = await storage.load(certificateKeys.account(directoryUrl)).then((text) => (text ? (JSON.parse(text) as StoredAccount) : undefined));
    const account = new AcmeAccount(settings, key);
    account.#client = stored && stored.email === settings.email ? await account.#connect(stored.url) : await account.#register();
    return account;
  }

  get client(): AcmeClient {
    return this.#client;
  }

  /**
   * Places an order. When the CA forgot the account (a reset test CA, a
   * deactivated account), registers again with the same key and orders once more.
   * @throws AcmeError with the CA's problem document.
   */
  async createOrder(request: AcmeOrderRequest): Promise<AcmeOrder> {
    try {
      return await this.#client.createOrder(request);
    } catch (error) {
      if (!(error instanceof AcmeError && error.type === "accountDoesNotExist")) throw error;
      this.#settings.logger.warn("the CA no longer knows the ACME account; registering again with the same key", { directory: this.#settings.directoryUrl });
      this.#client = await this.#register();
      return await this.#client.createOrder(request);
    }
  }

  #connect(accountUrl?: string): Promise<AcmeClient> {
    const { directoryUrl, eab, timeoutMs, pollTimeoutMs } = this.#settings;
    return AcmeClient.open({ directoryUrl, accountKey: this.#key, accountUrl, eab, timeoutMs, pollTimeoutMs });
  }

  async #register(): Promise<AcmeClient> {
    const { storage, directoryUrl, email, logger } = this.#settings;
    const client = await this.#connect();
    await client.createAccount(email);
    const url = client.accountUrl;
    await storage.store(certificateKeys.account(directoryUrl), JSON.stringify({ url, email } satisfies StoredAccount));
    logger.info("ACME account ready", { directory: directoryUrl, account: url });
    return client;
  }
}
