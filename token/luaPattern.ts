/**
 * Lua patterns (as used by Prosody for `context.room.regex` tokens: `string.match(room, claim)`) translated to
 * JavaScript regular expressions, so explainToken can evaluate such tokens the way the server does.
 * Unsupported constructs (%b, %f, back-references, position captures) throw LuaPatternError.
 */
export class LuaPatternError extends Error {
  override readonly name = "LuaPatternError";
}

const CLASSES: Record<string, string> = {
  a: "A-Za-z",
  d: "0-9",
  l: "a-z",
  s: "\\t\\n\\v\\f\\r ",
  u: "A-Z",
  w: "A-Za-z0-9",
  x: "A-Fa-f0-9",
  p: "!-\\/:-@\\[-`{-~",
  c: "\\x00-\\x1f\\x7f",
};

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** The class body for `%x` inside or outside a set, and whether it is negated (upper-case letter). */
function classFor(letter: string): { body: string; negated: boolean } | null {
  const body = CLASSES[letter.toLowerCase()];
  if (body === undefined) return null;
  return { body, negated: letter !== letter.toLowerCase() };
}

export function luaPatternToRegExp(pattern: string): RegExp {
  let out = "";
  let i = 0;
  const n = pattern.length;
  if (pattern.startsWith("^")) {
    out += "^";
    i = 1;
  }
  while (i < n) {
    const c = pattern.charAt(i);
    if (c === "%") {
      const next = pattern.charAt(i + 1);
      if (next === "") throw new LuaPatternError("pattern ends with '%'");
      if (next === "b" || next === "f" || /[0-9]/.test(next)) throw new LuaPatternError(`'%${next}' is not supported`);
      const cls = classFor(next);
      out += cls ? (cls.negated ? `[^${cls.body}]` : `[${cls.body}]`) : escapeChar(next);
      i += 2;
    } else if (c === "[") {
      let j = i + 1;
      let set = "[";
      if (pattern.charAt(j) === "^") {
        set += "^";
        j++;
      }
      let first = true;
      while (j < n && (pattern.charAt(j) !== "]" || first)) {
        const sc = pattern.charAt(j);
        first = false;
        if (sc === "%") {
          const next = pattern.charAt(j + 1);
          const cls = classFor(next);
          if (cls?.negated) throw new LuaPatternError(`negated class '%${next}' inside a set is not supported`);
          set += cls ? cls.body : escapeChar(next);
          j += 2;
        } else if (pattern.charAt(j + 1) === "-" && j + 2 < n && pattern.charAt(j + 2) !== "]") {
          set += `${escapeChar(sc)}-${escapeChar(pattern.charAt(j + 2))}`;
          j += 3;
        } else {
          set += escapeChar(sc);
          j++;
        }
      }
      if (j >= n) throw new LuaPatternError("malformed pattern (missing ']')");
      out += `${set}]`;
      i = j + 1;
    } else if (c === "$" && i === n - 1) {
      out += "$";
      i++;
    } else if (c === ".") {
      out += "[\\s\\S]";
      i++;
    } else if (c === "*" || c === "+" || c === "?") {
      out += c;
      i++;
    } else if (c === "-") {
      out += "*?";
      i++;
    } else if (c === "(") {
      if (pattern.charAt(i + 1) === ")") throw new LuaPatternError("position captures '()' are not supported");
      out += "(";
      i++;
    } else if (c === ")") {
      out += ")";
      i++;
    } else {
      out += escapeChar(c);
      i++;
    }
  }
  try {
    return new RegExp(out);
  } catch {
    throw new LuaPatternError("malformed pattern");
  }
}

/** What Lua's `string.match(subject, pattern)` returns: the first capture, else the whole match, else null. */
export function luaMatch(subject: string, pattern: string): string | null {
  const m = luaPatternToRegExp(pattern).exec(subject);
  if (!m) return null;
  return m.length > 1 ? (m[1] ?? null) : m[0];
}
