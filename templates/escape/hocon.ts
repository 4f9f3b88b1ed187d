/**
 * HOCON (Typesafe Config) literals for the Jicofo and videobridge configuration files.
 *
 * Every value goes in as a quoted string: a quoted HOCON string is a JSON string, so nothing inside it is a
 * substitution (`${`), comment (`#`, `//`), separator or include. Only the quote, the backslash and control
 * characters need escapes; everything else, non-ASCII included, is written as data.
 */

/** A lone UTF-16 surrogate cannot be written as UTF-8, so it would not read back as the same string. */
const LONE_SURROGATE = /\p{Cs}/u;

function unicodeEscape(codePoint: number): string {
  return `\\u${codePoint.toString(16).padStart(4, "0")}`;
}

/** `value` as a double-quoted HOCON string that Typesafe Config reads back unchanged. */
export function hoconString(value: string, field: string): string {
  if (LONE_SURROGATE.test(value)) {
    throw new Error(`${field}: holds an unpaired UTF-16 surrogate; only well-formed Unicode text is allowed`);
  }
  let quoted = '"';
  for (const char of value) {
    const codePoint = char.codePointAt(0) ?? 0;
    if (char === '"') quoted += '\\"';
    else if (char === "\\") quoted += "\\\\";
    // C0 controls are illegal raw inside a quoted string; DEL, C1 and the Unicode line/paragraph separators are
    // legal but invisible in an editor, so they are escaped too.
    else if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f) || codePoint === 0x2028 || codePoint === 0x2029) {
      quoted += unicodeEscape(codePoint);
    } else quoted += char;
  }
  return `${quoted}"`;
}

/** A HOCON list of quoted strings, e.g. `["a", "b"]`; `[]` when empty. */
export function hoconStringList(values: readonly string[], field: string): string {
  return `[${values.map((value, index) => hoconString(value, `${field}[${index}]`)).join(", ")}]`;
}

/** A HOCON integer; only safe integers are allowed, so the text is exactly the number. */
export function hoconInteger(value: number, field: string): string {
  if (!Number.isSafeInteger(value)) throw new Error(`${field}: must be an integer, got ${String(value)}`);
  return String(value);
}

/**
 * A required substitution of an environment variable, `${NAME}`. Typesafe Config takes the variable's value
 * verbatim as a string, and a missing variable fails the load with the variable's name instead of starting
 * with an empty value.
 */
export function hoconEnvSubstitution(name: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
    throw new Error(`environment variable name ${JSON.stringify(name)}: only A-Z, 0-9 and _ are allowed, starting with a letter`);
  }
  return `\${${name}}`;
}
