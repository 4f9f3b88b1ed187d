/**
 * JavaScript literals for Jitsi Meet's config.js. JSON.stringify already yields a valid JS string literal; on top
 * of it `<`, `>`, `&`, U+2028/U+2029 (line terminators in older engines) and every non-ASCII character become
 * `\uXXXX`, so the literal cannot close a surrounding <script> (config.js is also inlined by SSI in some setups),
 * cannot end the line, and survives any file encoding. `${` is harmless: the literal is double-quoted, never a
 * template literal.
 */

const LONE_SURROGATE = /\p{Cs}/u;

function escapeUnsafe(json: string): string {
  return json.replace(/[<>&\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `value` as a JavaScript string literal that evaluates to exactly `value`. */
export function jsString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new Error("JavaScript string: holds an unpaired UTF-16 surrogate");
  return escapeUnsafe(JSON.stringify(value));
}

/** A JSON-compatible value (strings, numbers, booleans, arrays, plain objects) as a JavaScript expression. */
export function jsLiteral(value: unknown): string {
  if (value === undefined) throw new Error("JavaScript literal: undefined cannot be written");
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`JavaScript literal: ${String(value)} is not finite`);
  if (typeof value === "string") return jsString(value);
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "string" && LONE_SURROGATE.test(item)) throw new Error("JavaScript string: holds an unpaired UTF-16 surrogate");
    if (typeof item === "function" || typeof item === "bigint" || typeof item === "symbol") {
      throw new Error(`JavaScript literal: cannot write a ${typeof item}`);
    }
    return item;
  });
  return escapeUnsafe(json);
}
