/**
 * Lua 5.4's `string.match(subject, pattern)`, evaluated as Lua evaluates it, for `context.room.regex` tokens
 * (Jitsi's token/util.lib.lua verify_room runs `pcall(string.match, room, claim)`). Translating Lua patterns to
 * JavaScript regular expressions cannot be faithful (`^(ab)*$` is a literal `*` after a capture in Lua, `-` is lazy,
 * `%b`, `%f` and position captures have no RegExp form), so this is a backtracking matcher over the subject's and
 * pattern's bytes that follows the Lua 5.4 reference manual §6.4.1 and the behaviour of `lstrlib.c` (C locale
 * character classes, 32 captures, a recursion limit of 200 nested matches, the same error texts). It is
 * property-tested against the real `lua5.4` binary (test/token/luaPattern.test.ts).
 */

/** A Lua error raised by string.match (its text is Lua's), e.g. "malformed pattern (ends with '%')". */
export class LuaPatternError extends Error {
  override readonly name = "LuaPatternError";
}

const ESC = 0x25; // '%'
const MAX_CAPTURES = 32;
const MAX_CALLS = 200;
const CAP_UNFINISHED = -1;
const CAP_POSITION = -2;

const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isCntrl = (c: number) => c < 0x20 || c === 0x7f;
const isGraph = (c: number) => c > 0x20 && c < 0x7f;
const isPunct = (c: number) => isGraph(c) && !isAlpha(c) && !isDigit(c);
const isXDigit = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** `%x` for class letter `cl` (C locale: bytes above 0x7f are in no class); other letters stand for themselves. */
function matchClass(c: number, cl: number): boolean {
  let res: boolean;
  switch (cl | 0x20) {
    case 0x61: res = isAlpha(c); break; // a
    case 0x63: res = isCntrl(c); break; // c
    case 0x64: res = isDigit(c); break; // d
    case 0x67: res = isGraph(c); break; // g
    case 0x6c: res = isLower(c); break; // l
    case 0x70: res = isPunct(c); break; // p
    case 0x73: res = isSpace(c); break; // s
    case 0x75: res = isUpper(c); break; // u
    case 0x77: res = isAlpha(c) || isDigit(c); break; // w
    case 0x78: res = isXDigit(c); break; // x
    case 0x7a: res = c === 0; break; // z: the NUL byte (deprecated in the manual, still in lstrlib.c's match_class)
    default: return cl === c;
  }
  return isUpper(cl) ? !res : res;
}

class MatchState {
  level = 0;
  depth = MAX_CALLS;
  readonly capInit: number[] = [];
  readonly capLen: number[] = [];
  constructor(
    readonly src: Uint8Array,
    readonly pat: Uint8Array,
  ) {}

  /** Index just past the single-character class starting at `p`. */
  classEnd(p: number): number {
    const { pat } = this;
    const c = pat[p++];
    if (c === ESC) {
      if (p >= pat.length) throw new LuaPatternError("malformed pattern (ends with '%')");
      return p + 1;
    }
    if (c === 0x5b) {
      if (pat[p] === 0x5e) p++;
      do {
        if (p >= pat.length) throw new LuaPatternError("malformed pattern (missing ']')");
        const d = pat[p++];
        if (d === ESC && p < pat.length) p++;
      } while (pat[p] !== 0x5d);
      return p + 1;
    }
    return p;
  }

  /** Whether byte `c` is in the set `[...]` spanning pat[p] = '[' to pat[ec] = ']'. */
  matchBracket(c: number, p: number, ec: number): boolean {
    const { pat } = this;
    let sig = true;
    if (pat[p + 1] === 0x5e) {
      sig = false;
      p++;
    }
    while (++p < ec) {
      if (pat[p] === ESC) {
        p++;
        if (matchClass(c, pat[p] as number)) return sig;
      } else if (pat[p + 1] === 0x2d && p + 2 < ec) {
        p += 2;
        if ((pat[p - 2] as number) <= c && c <= (pat[p] as number)) return sig;
      } else if (pat[p] === c) {
        return sig;
      }
    }
    return !sig;
  }

  singleMatch(s: number, p: number, ep: number): boolean {
    if (s >= this.src.length) return false;
    const c = this.src[s] as number;
    switch (this.pat[p]) {
      case 0x2e: return true; // '.'
      case ESC: return matchClass(c, this.pat[p + 1] as number);
      case 0x5b: return this.matchBracket(c, p, ep - 1);
      default: return this.pat[p] === c;
    }
  }

  match(s: number | null, p: number): number | null {
    if (this.depth-- === 0) throw new LuaPatternError("pattern too complex");
    try {
      return this.matchBody(s, p);
    } finally {
      this.depth++;
    }
  }

  private matchBody(sIn: number | null, pIn: number): number | null {
    const { src, pat } = this;
    let s = sIn;
    let p = pIn;
    for (;;) {
      if (s === null || p >= pat.length) return s;
      const pc = pat[p];
      if (pc === 0x28) {
        // '(' : a position capture "()" or an ordinary one
        return pat[p + 1] === 0x29 ? this.startCapture(s, p + 2, CAP_POSITION) : this.startCapture(s, p + 1, CAP_UNFINISHED);
      }
      if (pc === 0x29) return this.endCapture(s, p + 1);
      if (pc === 0x24 && p + 1 === pat.length) return s === src.length ? s : null; // '$' at the end
      if (pc === ESC) {
        const next = pat[p + 1];
        if (next === 0x62) {
          // %bxy
          s = this.matchBalance(s, p + 2);
          if (s !== null) {
            p += 4;
            continue;
          }
          return null;
        }
        if (next === 0x66) {
          // %f[set]
          p += 2;
          if (pat[p] !== 0x5b) throw new LuaPatternError("missing '[' after '%f' in pattern");
          const ep = this.classEnd(p);
          const previous = s === 0 ? 0 : (src[s - 1] as number);
          const current = s < src.length ? (src[s] as number) : 0;
          if (!this.matchBracket(previous, p, ep - 1) && this.matchBracket(current, p, ep - 1)) {
            p = ep;
            continue;
          }
          return null;
        }
        if (next !== undefined && isDigit(next)) {
          // %1-%9: a back-reference
          s = this.matchCapture(s, next);
          if (s !== null) {
            p += 2;
            continue;
          }
          return null;
        }
      }
      // a single-character class, possibly followed by a quantifier
      const ep = this.classEnd(p);
      const q = pat[ep];
      if (!this.singleMatch(s, p, ep)) {
        if (q === 0x2a || q === 0x3f || q === 0x2d) {
          p = ep + 1; // '*', '?', '-' accept an empty match
          continue;
        }
        return null;
      }
      if (q === 0x3f) {
        const res = this.match(s + 1, ep + 1);
        if (res !== null) return res;
        p = ep + 1;
        continue;
      }
      if (q === 0x2b) return this.maxExpand(s + 1, p, ep);
      if (q === 0x2a) return this.maxExpand(s, p, ep);
      if (q === 0x2d) return this.minExpand(s, p, ep);
      s++;
      p = ep;
    }
  }

  maxExpand(s: number, p: number, ep: number): number | null {
    let i = 0;
    while (this.singleMatch(s + i, p, ep)) i++;
    while (i >= 0) {
      const res = this.match(s + i, ep + 1);
      if (res !== null) return res;
      i--;
    }
    return null;
  }

  minExpand(sIn: number, p: number, ep: number): number | null {
    let s = sIn;
    for (;;) {
      const res = this.match(s, ep + 1);
      if (res !== null) return res;
      if (this.singleMatch(s, p, ep)) s++;
      else return null;
    }
  }

  startCapture(s: number, p: number, what: number): number | null {
    if (this.level >= MAX_CAPTURES) throw new LuaPatternError("too many captures");
    this.capInit[this.level] = s;
    this.capLen[this.level] = what;
    this.level++;
    const res = this.match(s, p);
    if (res === null) this.level--;
    return res;
  }

  endCapture(s: number, p: number): number | null {
    let l = -1;
    for (let i = this.level - 1; i >= 0; i--) {
      if (this.capLen[i] === CAP_UNFINISHED) {
        l = i;
        break;
      }
    }
    if (l < 0) throw new LuaPatternError("invalid pattern capture");
    this.capLen[l] = s - (this.capInit[l] as number);
    const res = this.match(s, p);
    if (res === null) this.capLen[l] = CAP_UNFINISHED;
    return res;
  }

  matchBalance(s: number, p: number): number | null {
    const { src, pat } = this;
    if (p >= pat.length - 1) throw new LuaPatternError("malformed pattern (missing arguments to '%b')");
    if (s >= src.length || src[s] !== pat[p]) return null;
    const b = pat[p];
    const e = pat[p + 1];
    let cont = 1;
    while (++s < src.length) {
      if (src[s] === e) {
        if (--cont === 0) return s + 1;
      } else if (src[s] === b) {
        cont++;
      }
    }
    return null;
  }

  matchCapture(s: number, digit: number): number | null {
    const l = digit - 0x31;
    if (l < 0 || l >= this.level || this.capLen[l] === CAP_UNFINISHED) throw new LuaPatternError(`invalid capture index %${l + 1}`);
    const len = this.capLen[l] as number;
    const init = this.capInit[l] as number;
    // A position capture's length is CAP_POSITION (-2), which lstrlib.c's match_capture compares as a size_t (a huge
    // length): a back-reference to a position capture never matches.
    if (len < 0) return null;
    if (this.src.length - s >= len && Buffer.compare(this.src.subarray(init, init + len), this.src.subarray(s, s + len)) === 0) return s + len;
    return null;
  }

  /** What string.match returns first: the first capture (a position capture as its 1-based number), else the match. */
  firstValue(s: number, e: number): string {
    const bytes = Buffer.from(this.src.buffer, this.src.byteOffset, this.src.length);
    const count = this.level === 0 ? 1 : this.level;
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i >= this.level) {
        values.push(bytes.subarray(s, e).toString("utf8"));
        continue;
      }
      const len = this.capLen[i] as number;
      const init = this.capInit[i] as number;
      if (len === CAP_UNFINISHED) throw new LuaPatternError("unfinished capture");
      values.push(len === CAP_POSITION ? String(init + 1) : bytes.subarray(init, init + len).toString("utf8"));
    }
    return values[0] as string;
  }
}

/**
 * Lua 5.4 `string.match(subject, pattern)` (init 1): the first capture, else the whole match, else null. A position
 * capture's value is its 1-based byte index as a decimal string (what Lua's `..` makes of the integer).
 * @throws LuaPatternError with Lua's own text wherever Lua raises an error (the server's pcall then refuses the join).
 */
export function luaMatch(subject: string, pattern: string): string | null {
  const src = Buffer.from(subject, "utf8");
  const pat = Buffer.from(pattern, "utf8");
  const anchor = pat[0] === 0x5e;
  const start = anchor ? 1 : 0;
  let s1 = 0;
  do {
    const ms = new MatchState(src, pat);
    const e = ms.match(s1, start);
    if (e !== null) return ms.firstValue(s1, e);
  } while (s1++ < src.length && !anchor);
  return null;
}
