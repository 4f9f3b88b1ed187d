/**
 * The Lua and JavaScript literal writers, checked against the real interpreters: whatever string goes in,
 * lua5.4 and Node's parser read back exactly that string, and nothing in it escapes the literal.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsLiteral, jsString } from "../../templates/escape/js.ts";
import { luaLiteral, luaString } from "../../templates/escape/lua.ts";
import { handlebars } from "../../templates/handlebars.ts";
import { HOSTILE_VALUES } from "./sampleDeployment.ts";

const run = promisify(execFile);
const LONE_SURROGATE = /\p{Cs}/u;
/** Extra cases for Lua: long brackets, comments, a decimal escape followed by digits. */
const LUA_CASES = ["--", "--[[", "]]", "]==]", "[[x]]", '\u00001', "\n2", "é9", "\\ddd", "0x", ""];

/** Evaluates `{ lit, lit, ... }` in lua5.4 and returns each element's bytes as hex. */
async function luaReadBack(dir: string, literals: string[]): Promise<string[]> {
  const script = join(dir, "literals.lua");
  await writeFile(
    script,
    `local t = { ${literals.join(",\n")} }\nfor i = 1, #t do print((t[i]:gsub(".", function(c) return string.format("%02x", c:byte()) end))) end\n`,
  );
  const { stdout } = await run("lua5.4", [script]);
  return stdout.split("\n").slice(0, literals.length);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "escape-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("luaString", () => {
  it("reads back byte for byte in lua5.4 for hostile and random strings", async () => {
    const random = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), { numRuns: 400, seed: 42 });
    const values = [...HOSTILE_VALUES, ...LUA_CASES, ...random].filter((value) => !LONE_SURROGATE.test(value));
    const hex = await luaReadBack(dir, values.map(luaString));
    expect(hex).toEqual(values.map((value) => Buffer.from(value, "utf8").toString("hex")));
  });

  it("writes only printable ASCII without quotes, so no value can end the string or the line", () => {
    for (const value of [...HOSTILE_VALUES, ...LUA_CASES]) {
      const body = luaString(value).slice(1, -1);
      expect(body).toMatch(/^[\x20-\x7e]*$/);
      expect(body).not.toMatch(/["']/);
    }
  });

  it("rejects a lone surrogate, which has no UTF-8 form", () => {
    expect(() => luaString("a\ud800b")).toThrow(/surrogate/);
  });

  it("writes booleans, integers and string lists; refuses anything else", async () => {
    expect(luaLiteral(true)).toBe("true");
    expect(luaLiteral(5280)).toBe("5280");
    expect(luaLiteral(["a", 'b"'])).toBe('{ "a", "b\\034" }');
    expect(() => luaLiteral(1.5)).toThrow(/integer/);
    expect(() => luaLiteral({})).toThrow(/cannot write/);
    expect(() => luaLiteral(null)).toThrow(/cannot write/);
  });
});

describe("jsString / jsLiteral", () => {
  it("evaluates back to the same string in Node for hostile and random strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (value) => {
        fc.pre(!LONE_SURROGATE.test(value));
        expect(runInNewContext(jsString(value))).toBe(value);
      }),
      { numRuns: 500, seed: 7 },
    );
    for (const value of [...HOSTILE_VALUES, "</script>", "<!--#exec cmd=\"id\" -->", "`${x}`"]) {
      expect(runInNewContext(jsString(value))).toBe(value);
    }
  });

  it("writes only ASCII, without <, > or &, so it cannot close a script tag or form an SSI directive", () => {
    for (const value of [...HOSTILE_VALUES, "</script>", "<!--#echo var=\"x\" -->"]) {
      expect(jsString(value)).toMatch(/^[\x20-\x7e]*$/);
      expect(jsString(value)).not.toMatch(/[<>&]/);
    }
  });

  it("writes JSON-like structures that evaluate to an equal value", () => {
    const value = { a: ["x", 1, true], "b\u2028": { c: null, d: "</script>" } };
    expect(runInNewContext(`(${jsLiteral(value)})`)).toEqual(value);
    expect(() => jsLiteral(undefined)).toThrow(/undefined/);
    expect(() => jsLiteral(Number.NaN)).toThrow(/finite/);
  });
});

describe("the shared Handlebars instance", () => {
  it("does not HTML-escape, writes values through the language helpers, and throws on a missing field", () => {
    // strict mode throws for a missing {{field}}; a missing helper argument arrives as undefined, which the
    // helpers refuse.
    expect(handlebars.compile("{{x}}", { noEscape: true, strict: true })({ x: "a&b<" })).toBe("a&b<");
    expect(handlebars.compile("{{lua x}} {{js x}}", { noEscape: true, strict: true })({ x: 'a"' })).toBe('"a\\034" "a\\""');
    expect(() => handlebars.compile("{{y}}", { noEscape: true, strict: true })({ x: 1 })).toThrow(/"y" not defined/);
    expect(() => handlebars.compile("{{lua y}}", { noEscape: true, strict: true })({ x: 1 })).toThrow(/undefined/);
    expect(() => handlebars.compile("{{js y}}", { noEscape: true, strict: true })({ x: 1 })).toThrow(/undefined/);
  });
});
