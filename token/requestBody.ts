/**
 * Reading a JSON request body under a byte limit, whatever its framing: a declared Content-Length above the limit is
 * refused before a byte is read; a streamed body (chunked, or no length at all) is read chunk by chunk and the
 * stream is cancelled as soon as the count passes the limit, so at most `maxBytes` plus one chunk is ever held.
 */
import { bodyTooLarge, HttpProblem } from "./httpProblem.ts";

/** The one body limit of the endpoint (bytes), for the Web handler and the Node adapter alike. */
export const DEFAULT_MAX_BODY_BYTES = 4096;

/** `type/subtype; charset=...` split per RFC 9110 §8.3.1: lowercased media type and charset (unquoted), if any. */
function mediaType(header: string): { type: string; charset?: string } {
  const [type = "", ...params] = header.split(";");
  let charset: string | undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
  }
  return charset === undefined ? { type: type.trim().toLowerCase() } : { type: type.trim().toLowerCase(), charset };
}

/**
 * Checks the headers of a JSON body before reading it.
 * @throws HttpProblem 415 when the type is not application/json or a charset other than UTF-8 is declared (JSON
 *   exchanged between systems is UTF-8, RFC 8259 §8.1); 413 when Content-Length is above `maxBytes`.
 */
export function checkJsonBodyHeaders(headers: Headers, maxBytes: number): void {
  const { type, charset } = mediaType(headers.get("content-type") ?? "");
  if (type !== "application/json") throw new HttpProblem(415, "content-type", "content-type must be application/json");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new HttpProblem(415, "content-type", `charset ${JSON.stringify(charset)} is not accepted; send UTF-8 (charset=utf-8 or none)`);
  }
  const declared = headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw bodyTooLarge(maxBytes);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The body as text, read incrementally and never more than `maxBytes` (+ the chunk that crossed it).
 * @throws HttpProblem 413 past the limit (the stream is cancelled), 400 when the body is not valid UTF-8 or the
 *   stream fails (client gone, adapter timeout).
 */
export async function readBodyText(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        throw bodyTooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw new HttpProblem(400, "body", "body could not be read");
  } finally {
    reader.releaseLock();
  }
  const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpProblem(400, "body", "body is not valid UTF-8");
  }
}
