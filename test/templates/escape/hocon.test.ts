import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hoconEnvSubstitution, hoconInteger, hoconString, hoconStringList } from "../../../templates/escape/hocon.ts";
import { at, loadHocon } from "../../support/typesafeConfig.ts";
import { textBatch } from "./arbitraries.ts";

describe("hoconString", () => {
  it("escapes quotes, backslashes and control characters, keeps non-ASCII and ${ as data", () => {
    expect(hoconString('a"b\\c', "f")).toBe('"a\\"b\\\\c"');
    expect(hoconString("x\ny\u0000\u007f\u2028", "f")).toBe('"x\\u000ay\\u0000\\u007f\\u2028"');
    expect(hoconString("${HOME} ünï 😀", "f")).toBe('"${HOME} ünï 😀"');
  });

  it("rejects unpaired surrogates, naming the field", () => {
    expect(() => hoconString("a\ud800b", "accounts.jvbPassword")).toThrow(/accounts\.jvbPassword.*surrogate/);
  });

  it("is read back exactly by Typesafe Config, for any text", async () => {
    await fc.assert(
      fc.asyncProperty(textBatch, async (values) => {
        const document = values.map((value, index) => `k${index} = ${hoconString(value, "value")}`).join("\n");
        const config = await loadHocon(`${document}\nlist = ${hoconStringList(values, "list")}\n`);
        values.forEach((value, index) => expect(config[`k${index}`]).toBe(value));
        expect(config.list).toEqual(values);
      }),
      { numRuns: 15 },
    );
  });

  it("keeps a hostile value inside its key: neighbours are untouched", async () => {
    const hostile = '"\n}\nx = "injected"\ninclude "/etc/passwd"\n${HOME} # {';
    const config = await loadHocon(`a { v = ${hoconString(hostile, "v")}, after = 1 }\n`);
    expect(at(config, "a.v")).toBe(hostile);
    expect(at(config, "a.after")).toBe(1);
    expect(config.x).toBeUndefined();
  });
});

describe("hoconInteger and hoconEnvSubstitution", () => {
  it("accept only integers and variable-like names", () => {
    expect(hoconInteger(5222, "port")).toBe("5222");
    expect(() => hoconInteger(1.5, "port")).toThrow(/port/);
    expect(() => hoconInteger(Number.NaN, "port")).toThrow(/port/);
    expect(hoconEnvSubstitution("JVB_NICKNAME")).toBe("${JVB_NICKNAME}");
    expect(() => hoconEnvSubstitution("A}B")).toThrow(/environment variable/);
    expect(() => hoconEnvSubstitution("lower")).toThrow(/environment variable/);
  });
});
