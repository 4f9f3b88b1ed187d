/**
 * Lua literals for Prosody's configuration. Every value is written as a double-quoted Lua string in which each
 * byte outside printable ASCII, and the three characters a Lua string gives meaning to (`"`, `\`, and the `'`
 * kept for symmetry), becomes a `\ddd` decimal escape. Decimal escapes mean the same in Lua 5.1 to 5.4, so the
 * file reads back identically whichever Lua the host's Prosody runs on (Debian 12's runs 5.4, prosody.im's
 * may run 5.2); `\u{…}` would not. Nothing in the value can end the string, open a comment or start code.
 */

const LONE_SURROGATE = /\p{Cs}/u;

/** `value` as a Lua string literal that Lua reads back as exactly the UTF-8 bytes of `value`. */
export function luaString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new Error("Lua string: holds an unpaired UTF-16 surrogate (not valid UTF-8)");
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const printable = byte >= 0x20 && byte <= 0x7e && byte !== 0x22 && byte !== 0x5c && byte !== 0x27;
    // Three digits always, so a following digit in the value can never extend the escape.
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString().padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** A Lua boolean literal; anything but a real boolean is a programming error. */
function luaBoolean(value: boolean): string {
  if (typeof value !== "boolean") throw new Error(`Lua boolean: expected true or false, got ${typeof value}`);
  return value ? "true" : "false";
}

/** A Lua integer literal (ports, sizes). */
function luaInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`Lua integer: expected a safe integer, got ${String(value)}`);
  return String(value);
}

/** `{ "a", "b" }`: a Lua array of strings. */
function luaStringList(values: readonly string[]): string {
  return values.length === 0 ? "{ }" : `{ ${values.map(luaString).join(", ")} }`;
}

/** Any of the above by type: the `{{lua x}}` helper writes whatever the template hands it safely. */
export function luaLiteral(value: unknown): string {
  if (typeof value === "string") return luaString(value);
  if (typeof value === "boolean") return luaBoolean(value);
  if (typeof value === "number") return luaInteger(value);
  if (Array.isArray(value) && value.every((item): item is string => typeof item === "string")) return luaStringList(value);
  throw new Error(`Lua literal: cannot write a value of type ${value === null ? "null" : typeof value}`);
}
