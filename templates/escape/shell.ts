/**
 * POSIX shell literals. Inside single quotes the shell interprets nothing, so a single-quoted word carries any
 * text except NUL; a single quote itself is written as `'\''` (close, escaped quote, reopen).
 */

const LONE_SURROGATE = /\p{Cs}/u;

/** `value` as one single-quoted shell word that `sh` reads back unchanged. */
export function shellQuote(value: string, field: string): string {
  if (value.includes("\u0000")) throw new Error(`${field}: NUL cannot appear in a shell word`);
  if (LONE_SURROGATE.test(value)) throw new Error(`${field}: holds an unpaired UTF-16 surrogate`);
  return `'${value.replace(/'/g, "'\\''")}'`;
}
