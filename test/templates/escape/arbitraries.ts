/** String generators for the escaper properties: any Unicode text, and text dense in syntax characters. */
import fc from "fast-check";

/** Characters with a meaning in HOCON, nginx, shell or Lua syntax, plus controls and non-ASCII. */
const SYNTAX_CHARACTERS = [
  '"', "'", "\\", "$", "{", "}", "[", "]", "(", ")", ";", "#", "/", "*", "=", ":", ",", "+", "?", "`", "~", "!",
  "&", "|", "<", ">", " ", "\n", "\r", "\t", "\u0000", "\u0001", "\u001b", "\u007f", "\u0085", "\u2028",
  "ü", "☃", "😀", "\ufeff", "a", "Z", "0",
];

export const anyText = fc.string({ unit: "binary", maxLength: 40 });
export const syntaxHeavyText = fc
  .array(fc.constantFrom(...SYNTAX_CHARACTERS), { maxLength: 30 })
  .map((characters) => characters.join(""));
/** A batch of values for one run of a real parser (one process start per batch, not per value). */
export const textBatch = fc.array(fc.oneof(anyText, syntaxHeavyText), { minLength: 1, maxLength: 150 });
