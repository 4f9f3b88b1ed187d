/**
 * Reads the connection settings out of a Jitsi `config.js` without executing it. The file is JavaScript from the
 * server under test (upstream builds values like `'conference.' + subdomain + 'meet.example.com'` and leaves
 * nginx SSI placeholders in `var subdir = '<!--# echo ... -->'`), so this tokenises it, skips comments, and
 * evaluates only string-literal concatenations of literals and earlier `var` strings. Nothing in it runs.
 */

export interface ConfigJsHosts {
  domain?: string;
  muc?: string;
  focus?: string;
  anonymousdomain?: string;
  websocket?: string;
  bosh?: string;
}

type Token = { kind: "string" | "ident" | "punct"; value: string };

const IDENT = /[A-Za-z_$][\w$]*/y;

/** Splits JavaScript into strings, identifiers and punctuation; comments and whitespace are dropped. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i);
      i = end === -1 ? source.length : end;
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      i = end === -1 ? source.length : end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      let value = "";
      let j = i + 1;
      let interpolated = false;
      while (j < source.length && source[j] !== c) {
        if (source[j] === "\\" && j + 1 < source.length) {
          value += unescape(source[j + 1] as string);
          j += 2;
          continue;
        }
        if (c === "`" && source.startsWith("${", j)) interpolated = true;
        value += source[j];
        j++;
      }
      // A template with ${...} is not a constant: mark it so it never becomes a value.
      tokens.push(interpolated ? { kind: "punct", value: "`${}`" } : { kind: "string", value });
      i = j + 1;
    } else {
      IDENT.lastIndex = i;
      const m = IDENT.exec(source);
      if (m) {
        tokens.push({ kind: "ident", value: m[0] });
        i += m[0].length;
      } else {
        tokens.push({ kind: "punct", value: c });
        i++;
      }
    }
  }
  return tokens;
}

function unescape(ch: string): string {
  return ({ n: "\n", t: "\t", r: "\r", "0": "\0" } as Record<string, string>)[ch] ?? ch;
}

/** An SSI directive nginx did not expand stands for the empty string (as upstream's own fallback says). */
function ssiFree(value: string): string {
  return value.startsWith("<!--") ? "" : value;
}

/**
 * Evaluates `lit (+ lit)*` where lit is a string or a known variable, ending at `,` `;` `}` or a new key.
 * Returns undefined for anything else (a call, a ternary, an unknown name).
 */
function constantAt(tokens: Token[], start: number, vars: Map<string, string>): { value: string; end: number } | undefined {
  let value = "";
  let i = start;
  for (;;) {
    const t = tokens[i];
    if (t === undefined) return undefined;
    if (t.kind === "string") value += ssiFree(t.value);
    else if (t.kind === "ident" && vars.has(t.value)) value += vars.get(t.value) as string;
    else return undefined;
    const next = tokens[i + 1];
    if (next?.kind === "punct" && next.value === "+") {
      i += 2;
      continue;
    }
    if (next === undefined || (next.kind === "punct" && [",", ";", "}"].includes(next.value)) || next.kind === "ident") {
      return { value, end: i + 1 };
    }
    return undefined;
  }
}

const WANTED: Record<string, keyof ConfigJsHosts> = {
  "config.hosts.domain": "domain",
  "config.hosts.muc": "muc",
  "config.hosts.focus": "focus",
  "config.hosts.anonymousdomain": "anonymousdomain",
  "config.websocket": "websocket",
  "config.bosh": "bosh",
};

/**
 * Extracts hosts.{domain,muc,focus,anonymousdomain}, websocket and bosh, from either the object literal
 * (`var config = { hosts: { domain: '…' } }`) or later assignments (`config.hosts.anonymousdomain = '…';`,
 * as docker's generated config does). Later assignments win, as they would when the browser runs the file.
 */
export function parseConfigJs(source: string): ConfigJsHosts {
  const tokens = tokenize(source);
  const vars = new Map<string, string>();
  const found: ConfigJsHosts = {};
  // Names of the object literals we are inside, e.g. ["config", "hosts"].
  const path: string[] = [];
  const record = (fullPath: string, at: number) => {
    const constant = constantAt(tokens, at, vars);
    if (constant === undefined) return;
    const key = WANTED[fullPath];
    if (key !== undefined) found[key] = constant.value;
    if (!fullPath.includes(".")) vars.set(fullPath, constant.value);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const next = tokens[i + 1];
    const after = tokens[i + 2];
    if (t.kind === "punct" && t.value === "{") {
      path.push("");
      continue;
    }
    if (t.kind === "punct" && t.value === "}") {
      path.pop();
      continue;
    }
    if (t.kind !== "ident" && t.kind !== "string") continue;
    // `key: {` opens a named object; `key: value` is a property.
    if (next?.kind === "punct" && next.value === ":" && path.length > 0) {
      const full = [...path.filter(Boolean), t.value].join(".");
      if (after?.kind === "punct" && after.value === "{") {
        path.push(t.value);
        i += 2;
      } else {
        record(full, i + 2);
      }
      continue;
    }
    if (t.kind !== "ident") continue;
    // `a.b.c = value` or `var a = value` / `var a = {`.
    let j = i;
    const dotted = [t.value];
    while (tokens[j + 1]?.value === "." && tokens[j + 2]?.kind === "ident") {
      dotted.push((tokens[j + 2] as Token).value);
      j += 2;
    }
    const eq = tokens[j + 1];
    if (eq?.kind === "punct" && eq.value === "=" && tokens[j + 2]?.value !== "=") {
      const target = dotted.join(".");
      if (tokens[j + 2]?.kind === "punct" && tokens[j + 2]?.value === "{") {
        path.push(target);
        i = j + 2;
      } else {
        record(target, j + 2);
        i = j + 1;
      }
    }
  }
  return found;
}
