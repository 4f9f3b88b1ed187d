/** fast-check arbitrary of awkward room names: full Unicode, % sequences, the client's deleted characters, whitespace. */
import fc from "fast-check";

const PIECES = [
  ...":?#[]@!$&'()*+,;=></\"",
  "%", "%2", "%20", "%2A", "%2a", "%25", "%252A", "%27", "%2F", "%2E", "%00", "%C3%A4", "%E2%82", "%ED%A0%80", "%EF%BC%8A",
  " ", "\t", "\n", "\u00A0", "\u2028", "\u3000", "\uFEFF", ".", "..", "~", "-", "_",
  "＊", "﹡", "İ", "ı", "ß", "ﬁ", "Ⅻ", "ｆ", "🎉", "👩‍👩‍👧", "\uD800", "\uDC00", "e\u0301", "Å",
];

export const roomNames = fc
  .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: "binary", maxLength: 3 }), fc.string({ unit: "grapheme", maxLength: 3 }), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(""));
