import type { JsonRpcError, JsonRpcResult } from "./jsonrpc.ts";

/**
 * The JSON text of answers, written once.
 *
 * A tool result carries its output twice: as `structuredContent`, and as
 * the same JSON inside a text item (for clients that read only content).
 * Written the plain way, `JSON.stringify` of the answer writes the output
 * once for `structuredContent` and escapes it a second time inside the
 * text, after the tool already wrote it to make that text: three passes
 * over a page of Markdown, the largest cost of a `fetch` (measured on a
 * 3.8 KB page: 19 µs a pass). A result that knows its own JSON says so
 * with {@link withJson}, and {@link answerJson} splices that text in
 * instead of writing it again.
 *
 * The text is kept as pieces of an object's members, without its braces,
 * so fields can be added (the 2026-07-28 decorations) and the answer built
 * with one join, rather than by copying a page-sized string at each step.
 *
 * The object stays complete: transports that serialize messages themselves
 * (the SDK's session transport) see an ordinary object, since
 * `JSON.stringify` skips symbol keys.
 */

const MEMBERS = Symbol("json-members");

type Presized = Record<string, unknown> & { [MEMBERS]?: string[] };

/**
 * Marks `result` as having these JSON members (`"name":value` pieces, in
 * order, without braces or separating commas) as its exact JSON text.
 */
export function withJson<T extends Record<string, unknown>>(result: T, members: string[]): T {
  // Not enumerable: invisible to comparisons and to spreads, which must not carry a stale text along.
  Object.defineProperty(result, MEMBERS, { value: members, enumerable: false, configurable: true });
  return result;
}

/** The JSON members a result was marked with, if any. */
export function jsonOf(result: Record<string, unknown>): string[] | undefined {
  return (result as Presized)[MEMBERS];
}

/** The JSON text of one answer, using a result's own text where it has one. */
export function answerJson(answer: JsonRpcResult | JsonRpcError): string {
  if (!("result" in answer)) return JSON.stringify(answer);
  const members = jsonOf(answer.result);
  if (members === undefined) return JSON.stringify(answer);
  return `{"jsonrpc":"2.0","id":${JSON.stringify(answer.id)},"result":{${members.join(",")}}}`;
}

/** An HTTP response of one answer (or several, for a legacy batch). */
export function answerResponse(answers: JsonRpcResult | JsonRpcError | (JsonRpcResult | JsonRpcError)[]): Response {
  const body = Array.isArray(answers) ? `[${answers.map(answerJson).join(",")}]` : answerJson(answers);
  return new Response(body, { headers: JSON_HEADERS });
}

const JSON_HEADERS = { "Content-Type": "application/json" };
