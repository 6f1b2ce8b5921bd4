/**
 * A request body read as UTF-8 text up to a size limit, for a transport used
 * on its own (the server's routes read bodies once, at the boundary, and
 * hand transports the parsed result).
 */

export type BodyResult =
  | { kind: 'ok'; text: string }
  | { kind: 'too-large' }
  | { kind: 'unreadable'; reason: string };

/**
 * Reads a body as UTF-8 text up to `maxBytes`. A declared `Content-Length`
 * over the limit is refused unread; otherwise bytes are counted as they
 * arrive, because chunked bodies have no length and the header can lie.
 */
export async function readBody(request: Request, maxBytes: number): Promise<BodyResult> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) return { kind: 'too-large' };
  if (request.body === null) return { kind: 'ok', text: '' };

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        // Stop the upload instead of draining the rest of it.
        await reader.cancel().catch(() => {});
        return { kind: 'too-large' };
      }
      chunks.push(value);
    }
  } catch {
    // The client aborted mid-upload or the connection broke.
    return { kind: 'unreadable', reason: 'request body could not be read' };
  } finally {
    reader.releaseLock();
  }

  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    // fatal: JSON must be UTF-8 (RFC 8259); substituting U+FFFD would hand
    // the server text the client never sent.
    return { kind: 'ok', text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { kind: 'unreadable', reason: 'request body is not valid UTF-8' };
  }
}
