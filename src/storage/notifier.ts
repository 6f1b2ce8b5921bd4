/**
 * Hears about bundles other processes store, so that a replica swaps in a
 * certificate another one renewed at once instead of at its next poll of
 * storage. Only shared storage has one (Redis, through pub/sub); processes
 * sharing a directory find each other's renewals by polling.
 */
export interface BundleNotifier {
  /**
   * Calls `onBundle(name)` soon after any process sharing this storage (this
   * one included) stores bundle `name`. Delivery is best effort: messages
   * sent while the connection is down are lost, so after each reconnection
   * `onBundle` is called once for every bundle. Treat a call as "reload
   * now", not as proof of a change, and keep polling as a safety net.
   *
   * Never throws for connection trouble: it reconnects by itself and says
   * so through `onError`, which also receives what `onBundle` throws.
   * Returns a function that ends this subscription (idempotent).
   * @throws TypeError when `onBundle` is not a function; Error when the storage is closed.
   */
  subscribe(onBundle: (name: string) => void, options?: SubscribeOptions): () => void;
}

export interface SubscribeOptions {
  /** Trouble with the subscription (it keeps reconnecting), or an exception thrown by `onBundle`. */
  onError?: (error: unknown) => void;
  /** Called each time the subscription is (re-)established; handy for logs and tests. */
  onReady?: () => void;
}
