import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shellQuote } from "../../../templates/escape/shell.ts";
import { textBatch } from "./arbitraries.ts";

/** Runs a script file with the real /bin/sh and returns its stdout as bytes. */
async function runSh(script: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "shell-quote-"));
  try {
    const file = join(dir, "script.sh");
    await writeFile(file, script);
    return await new Promise((resolve, reject) => {
      execFile("/bin/sh", [file], { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
        error === null ? resolve(stdout) : reject(error),
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("shellQuote", () => {
  it("single-quotes, writing a quote as '\\''", () => {
    expect(shellQuote("it's $(id)", "v")).toBe("'it'\\''s $(id)'");
  });

  it("rejects NUL and unpaired surrogates, naming the field", () => {
    expect(() => shellQuote("a\u0000b", "letsEncryptEmail")).toThrow(/letsEncryptEmail.*NUL/);
    expect(() => shellQuote("a\udc00", "letsEncryptEmail")).toThrow(/letsEncryptEmail/);
  });

  it("is read back exactly by /bin/sh, for any text without NUL", async () => {
    await fc.assert(
      fc.asyncProperty(textBatch, async (raw) => {
        const values = raw.map((value) => value.replaceAll("\u0000", ""));
        // printf '%s\0' prints each value followed by NUL, the one byte none of them holds.
        const script = values.map((value) => `printf '%s\\0' ${shellQuote(value, "value")}`).join("\n");
        const output = (await runSh(`${script}\n`)).toString("utf8");
        expect(output.split("\u0000").slice(0, -1)).toEqual(values);
      }),
      { numRuns: 10 },
    );
  });
});
