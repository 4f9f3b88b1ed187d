/**
 * Reading a JSON request body under a byte limit, whatever its framing: a declared Content-Length above the limit is
 * refused before a byte is read; a body framed by a Content-Length within the limit is read whole; a streamed body
 * (chunked, or no length at all) is read chunk by chunk and the stream is cancelled as soon as the count passes the
 * limit, so at most `maxBytes` plus one chunk is ever held.
 */
import { bodyTooLarge, HttpProblem } from "./httpProblem.ts";

/**
 * What the endpoint reads of a request before its body, whatever the transport: a Web Request is one; the node:http
 * entry point (createNodeTokenHandler) passes its own view of the request's head. `headers.get` answers as Fetch's
 * Headers.get does: the name any case, repeated headers joined with ", ", null when absent.
 */
export interface RequestHead {
  readonly method: string;
  readonly headers: { get(name: string): string | null };
}

/** The one body limit of the endpoint (bytes), for the Web handler and the Node adapter alike. */
export const DEFAULT_MAX_BODY_BYTES = 4096;

const JSON_TYPE = { type: "application/json" } as const;

/** `type/subtype; charset=...` split per RFC 9110 §8.3.1: lowercased media type and charset (unquoted), if any. */
function mediaType(header: string): { type: string; charset?: string } {
  if (header === "application/json") return JSON_TYPE;
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
 * @throws HttpProblem 415 when the type is not application/json, a charset other than UTF-8 or a content coding is declared (JSON
 *   exchanged between systems is UTF-8, RFC 8259 §8.1); 413 when Content-Length is above `maxBytes`.
 */
export function checkJsonBodyHeaders(headers: RequestHead["headers"], maxBytes: number): void {
  const { type, charset } = mediaType(headers.get("content-type") ?? "");
  if (type !== "application/json") throw new HttpProblem(415, "content-type", "content-type must be application/json");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new HttpProblem(415, "content-type", `charset ${JSON.stringify(charset)} is not accepted; send UTF-8 (charset=utf-8 or none)`);
  }
  // A coded body (gzip, …) is not JSON text; a framework that inflates it (express.json()) would make the answer
  // depend on what sits in front of the endpoint. Refused alike on every path.
  const coding = headers.get("content-encoding");
  if (coding !== null && coding.trim().toLowerCase() !== "identity" && coding.trim() !== "") {
    throw new HttpProblem(415, "content-encoding", "content-encoding is not accepted; send the JSON body uncompressed");
  }
  const declared = headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw bodyTooLarge(maxBytes);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes as text; invalid UTF-8 is refused rather than replaced (a room name must arrive as sent).
 * @throws HttpProblem 400 naming the body.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpProblem(400, "body", "body is not valid UTF-8");
  }
}

/**
 * The body as text, never more than `maxBytes` of it held (+ the chunk that crossed it). Call after
 * checkJsonBodyHeaders. With a declared Content-Length (already checked to be at most `maxBytes`) the HTTP layer
 * frames the body by it (RFC 9112 §6.3, RFC 9113 §8.1.1), so it is read whole with arrayBuffer(), the cheap path of
 * every runtime; without one (chunked, or HTTP/2 without the header) the stream is read chunk by chunk and cancelled
 * as soon as the count passes `maxBytes`.
 * @throws HttpProblem 413 past the limit, 400 when the body is not valid UTF-8 or cannot be read (client gone).
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  if (request.headers.get("content-length") !== null) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await request.arrayBuffer());
    } catch {
      throw new HttpProblem(400, "body", "body could not be read");
    }
    if (bytes.byteLength > maxBytes) throw bodyTooLarge(maxBytes);
    return decodeUtf8(bytes);
  }
  return decodeUtf8(await readStreamCapped(request.body, maxBytes));
}

async function readStreamCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
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
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
}
