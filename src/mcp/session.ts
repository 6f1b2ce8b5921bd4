import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { McpDispatcher } from "./dispatcher.ts";
import { messageKind, type JsonRpcError, type JsonRpcRequest, type JsonRpcResult } from "./jsonrpc.ts";
import { DEFAULT_LEGACY_VERSION, negotiateLegacyVersion } from "./versions.ts";

/**
 * One legacy MCP session (2024-11-05 to 2025-11-25): a transport that
 * carries its messages, wired to the dispatcher that answers them.
 *
 * The transports are the SDK's Streamable HTTP one (`/mcp`) and this
 * server's legacy SSE one (`/sse` + `/message`); both keep to the SDK's
 * `Transport` contract. Requests are answered on the transport with their
 * own id (so the transport finds the HTTP response waiting for them);
 * notifications from the client (`initialized`, `cancelled`) need no answer.
 */
export class LegacySession {
  /** The revision agreed by `initialize`; until then the transport's default. */
  version: string = DEFAULT_LEGACY_VERSION;
  /** Whether `initialize` has been answered: the session is then the client's. */
  initialized = false;
  /** Requests received and not yet answered. */
  pending = 0;
  readonly #transport: Transport;
  readonly #dispatcher: McpDispatcher;

  /** Who opened the session (the HTTP layer's per-client key), told to the dispatcher with each request. */
  readonly #client: string | undefined;

  constructor(transport: Transport, dispatcher: McpDispatcher, client?: string) {
    this.#transport = transport;
    this.#dispatcher = dispatcher;
    this.#client = client;
    transport.onmessage = (message) => void this.#receive(message);
  }

  /** Starts the transport (the SDK's contract: once, before any message). */
  start(): Promise<void> {
    return this.#transport.start();
  }

  /**
   * Sends a notification, such as `notifications/resources/list_changed`,
   * on the session's stream. Best effort: with no stream open (a Streamable
   * HTTP client that never opened GET) or a stream gone, nothing is sent.
   */
  notify(method: string): void {
    if (!this.initialized) return;
    this.#transport.send({ jsonrpc: "2.0", method } as JSONRPCMessage).catch(() => {});
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  /**
   * Answers one request of this session: what the transport would carry
   * back. The session's fast path (see `SessionRegistry`) calls this without
   * the transport; `initialize` through it agrees the session's version.
   */
  async answer(request: JsonRpcRequest): Promise<JsonRpcResult | JsonRpcError> {
    this.pending++;
    try {
      const answer = await this.#dispatcher.dispatch(request, { version: this.version, modern: false, canNotify: true, client: this.#client });
      if (request.method === "initialize" && "result" in answer) {
        this.version = negotiateLegacyVersion(request.params?.protocolVersion);
        this.initialized = true;
      }
      return answer;
    } finally {
      this.pending--;
    }
  }

  async #receive(message: unknown): Promise<void> {
    if (messageKind(message) !== "request") return;
    const request = message as JsonRpcRequest;
    const answer = await this.answer(request);
    // The client may have gone (its stream closed) while this was answered: nothing to tell it then.
    await this.#transport.send(answer as JSONRPCMessage, { relatedRequestId: request.id }).catch(() => {});
  }
}
