/**
 * Hostile values in every string field of the input: each is either rejected by validation with an error that
 * names that field, or rendered as data — the Prosody config still parses (luac5.4, and Prosody's own
 * configmanager reads the value back byte for byte) and config.js still evaluates in Node.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, RenderedFile } from "../../templates/deployment.ts";
import { hostPaths } from "jitsi-jwt-token/shared";
import { renderFiles } from "../../templates/render.ts";
import { DeploymentError } from "../../templates/validate.ts";
import { readProsodyOptions } from "./prosodyConfigReader.ts";
import { HOSTILE_VALUES, sampleDeployment } from "./sampleDeployment.ts";

const run = promisify(execFile);
const DOMAIN = "meet.example.com";
const paths = hostPaths(DOMAIN);
const HOSTILE = [...HOSTILE_VALUES, "--", "--[[", "]]", "a;b--c", "\\", "${a}]]--\"'\\ü"];
/** Makes a hostile value long enough to pass a minimum-length rule, so its characters are what gets judged. */
const PAD = "-0123456789abcdef0123456789abcdef";
const RSA = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();

interface Field {
  /** The field as errors name it. */
  readonly name: string;
  readonly set: (value: string) => Deployment;
  /** Where Prosody reads the value, for fields that land in its config. */
  readonly prosodyOption?: [string, string];
  readonly label?: string;
}

const base = sampleDeployment();
const FIELDS: Field[] = [
  { name: "domain", set: (v) => ({ ...base, domain: v }) },
  { name: "auth.appId", set: (v) => ({ ...base, auth: { algorithm: "HS256", appId: v, appSecret: `secret${PAD}` } }), prosodyOption: [DOMAIN, "app_id"] },
  { name: "auth.appSecret", set: (v) => ({ ...base, auth: { algorithm: "HS256", appId: "app", appSecret: `${v}${PAD}` } }), prosodyOption: [DOMAIN, "app_secret"] },
  { name: "auth.publicKeys", label: "auth.publicKeys (key id)", set: (v) => ({ ...base, auth: { algorithm: "RS256", appId: "app", publicKeys: { [v]: RSA } } }) },
  { name: "auth.publicKeys.kid", label: "auth.publicKeys (PEM)", set: (v) => ({ ...base, auth: { algorithm: "RS256", appId: "app", publicKeys: { kid: v } } }) },
  { name: "network.privateIp", set: (v) => ({ ...base, network: { ...base.network, privateIp: v } }) },
  { name: "network.publicIp", set: (v) => ({ ...base, network: { ...base.network, publicIp: v } }) },
  { name: "accounts.focusPassword", set: (v) => ({ ...base, accounts: { ...base.accounts, focusPassword: `${v}${PAD}` } }) },
  { name: "accounts.jvbPassword", set: (v) => ({ ...base, accounts: { ...base.accounts, jvbPassword: `${v}${PAD}` } }) },
  { name: "letsEncryptEmail", set: (v) => ({ ...base, letsEncryptEmail: v }) },
  { name: "runtime.rootDir", set: (v) => ({ ...base, runtime: { rootDir: `/tmp/${v}` } }) },
  { name: "runtime.prosodyPluginsDir", set: (v) => ({ ...base, runtime: { prosodyPluginsDir: `/opt/${v}` } }) },
  { name: "runtime.bindAddress", set: (v) => ({ ...base, runtime: { bindAddress: v } }) },
];

/** The stored value a field's setter produced, for the round-trip check. */
function storedValue(field: Field, hostile: string): string {
  return field.name === "auth.appSecret" ? `${hostile}${PAD}` : hostile;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "injection-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function byPathEnd(files: RenderedFile[], suffix: string): RenderedFile {
  const found = files.find((f) => f.path.endsWith(suffix));
  if (found === undefined) throw new Error(`no rendered file ending in ${suffix}`);
  return found;
}

describe("hostile values in every string field", () => {
  for (const field of FIELDS) {
    it(`${field.label ?? field.name}: rejected naming the field, or written as data`, async () => {
      let accepted = 0;
      for (const [index, hostile] of HOSTILE.entries()) {
        let files: RenderedFile[];
        try {
          files = renderFiles(field.set(hostile));
        } catch (error) {
          expect(error, `${field.name} = ${JSON.stringify(hostile)}`).toBeInstanceOf(DeploymentError);
          const named = (error as DeploymentError).issues.every((issue) => issue.startsWith(field.name));
          expect(named, (error as DeploymentError).message).toBe(true);
          continue;
        }
        accepted += 1;
        const prosody = byPathEnd(files, paths.prosodyHostConfig.slice("/etc".length));
        const path = join(dir, `${field.name}-${String(index)}.cfg.lua`);
        await writeFile(path, prosody.content);
        await run("luac5.4", ["-p", path]);
        if (field.prosodyOption !== undefined) {
          expect(await readProsodyOptions(path, [field.prosodyOption])).toEqual([storedValue(field, hostile)]);
        }
        const context: { config?: { hosts: { domain: string } } } = {};
        runInNewContext(byPathEnd(files, paths.meetConfigJs.slice("/etc".length)).content, context);
        expect(context.config?.hosts.domain).toBe(DOMAIN);
      }
      // The app secret takes the hostile values its alphabet allows (`;`, `]]`, `--`, `${…}`) as data. The app id
      // follows the shared rule (letters, digits, '.', '_', '-': the token's iss and the stack key say the same),
      // so every hostile value is refused by name.
      if (field.name === "auth.appSecret") expect(accepted).toBeGreaterThanOrEqual(5);
      if (field.name === "auth.appId") expect(accepted).toBe(0);
    });
  }
});
