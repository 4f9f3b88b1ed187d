import { request } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nginxHostname, nginxString } from "../../../templates/escape/nginx.ts";
import { startNginxWithHttpConfig } from "../../support/nginx.ts";
import { freePort } from "../../support/ports.ts";
import { textBatch } from "./arbitraries.ts";

/** What nginx cannot hold: reject exactly these. */
const UNQUOTABLE = /[$\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;

function get(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve(Buffer.concat(chunks)));
    })
      .on("error", reject)
      .end();
  });
}

describe("nginxString", () => {
  it("quotes and escapes what nginx would otherwise interpret", () => {
    expect(nginxString('/srv/a "b"; } { # c\\', "path")).toBe('"/srv/a \\"b\\"; } { # c\\\\"');
    expect(nginxString("/srv/ünï", "path")).toBe('"/srv/ünï"');
  });

  it("rejects $, control characters, line breaks and empty values, naming the field", () => {
    expect(() => nginxString("/tmp/$host", "ACME webroot")).toThrow(/ACME webroot.*\$/);
    expect(() => nginxString("/tmp/a\nb", "web root")).toThrow(/web root.*line breaks/);
    expect(() => nginxString("/tmp/\u0000", "web root")).toThrow(/control/);
    expect(() => nginxString("", "web root")).toThrow(/empty/);
  });

  it("is read back exactly by nginx, or rejected, for any text", async () => {
    await fc.assert(
      fc.asyncProperty(textBatch, async (values) => {
        const accepted = values.filter((value) => {
          const expressible = value !== "" && !UNQUOTABLE.test(value);
          if (!expressible) expect(() => nginxString(value, "value")).toThrow();
          return expressible;
        });
        const port = await freePort();
        const locations = accepted.map((value, index) => `    location = /v${index} { return 200 ${nginxString(value, "value")}; }`);
        const nginx = await startNginxWithHttpConfig(
          `server {\n    listen 127.0.0.1:${port};\n    default_type application/octet-stream;\n${locations.join("\n")}\n}\n`,
          [port],
        );
        try {
          for (const [index, value] of accepted.entries()) {
            expect((await get(port, `/v${index}`)).toString("utf8")).toBe(value);
          }
        } finally {
          await nginx.stop();
        }
      }),
      { numRuns: 6 },
    );
  });
});

describe("nginxHostname", () => {
  it("accepts DNS names, lower-cased", () => {
    expect(nginxHostname("Meet.Example.COM", "domain")).toBe("meet.example.com");
    expect(nginxHostname("a-b.c1.example", "domain")).toBe("a-b.c1.example");
  });

  it("rejects what nginx would read as a pattern or syntax", () => {
    for (const bad of ["~^evil$", "*.example.com", "example.com;", "a b.com", "-a.com", "a-.com", "localhost", "ex\"ample.com", "ünï.com", ""]) {
      expect(() => nginxHostname(bad, "domain"), bad).toThrow(/domain/);
    }
  });
});
