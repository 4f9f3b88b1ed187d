/**
 * The renderer as a whole: the file list, stable bytes, permissions of files holding secrets, the Debian
 * package markers (checked with grep, the way the postinst scripts check), and the Prosody options that carry
 * the token/guest behaviour, read back with Prosody's own config parser.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, RenderedFile } from "../../templates/deployment.ts";
import { hostPaths, PORTS, xmppNames } from "jitsi-jwt-token/shared";
import { renderFiles } from "../../templates/render.ts";
import { asapKeyFileName } from "../../templates/validate.ts";
import { readProsodyOptions } from "./prosodyConfigReader.ts";
import { sampleDeployment } from "./sampleDeployment.ts";

const run = promisify(execFile);
const DOMAIN = "meet.example.com";
const names = xmppNames(DOMAIN);
const paths = hostPaths(DOMAIN);

function rsaPublicKeyPem(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
}

function file(files: RenderedFile[], path: string): RenderedFile {
  const found = files.find((f) => f.path === path);
  if (found === undefined) throw new Error(`no rendered file at ${path}`);
  return found;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "render-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function written(content: string, name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe("renderFiles", () => {
  it("renders every file of the host, Prosody first, in a stable order", () => {
    expect(renderFiles(sampleDeployment()).map((f) => f.path)).toEqual([
      paths.prosodyHostConfig,
      `${paths.projectProsodyPlugins}mod_log_token_redaction.lua`,
      `${paths.projectProsodyPlugins}mod_token_room_bypass.lua`,
      paths.jicofoConf,
      paths.jvbConf,
      paths.meetConfigJs,
      paths.nginxSite,
      paths.renewalHook,
    ]);
  });

  it("gives byte-identical output for the same input, including after a JSON round trip", () => {
    const input = sampleDeployment();
    const first = renderFiles(input);
    expect(renderFiles(input)).toEqual(first);
    expect(renderFiles(JSON.parse(JSON.stringify(input)))).toEqual(first);
  });

  it("keeps every file holding a secret away from other users, and marks it secret", () => {
    const files = renderFiles(sampleDeployment());
    const prosody = file(files, paths.prosodyHostConfig);
    expect(prosody).toMatchObject({ mode: 0o640, owner: "root", group: "prosody", secret: true });
    expect(prosody.effect).toEqual({ service: "prosody", action: "restart" });
    for (const f of files) {
      const holdsSecret = [sampleDeployment().accounts.focusPassword, sampleDeployment().accounts.jvbPassword, "s3cret-app-secret"].some(
        (secret) => f.content.includes(secret),
      );
      if (holdsSecret) expect({ path: f.path, secret: f.secret, worldBits: f.mode & 0o007 }).toEqual({ path: f.path, secret: true, worldBits: 0 });
    }
  });

  it("serves config.js world-readable with nothing to restart", () => {
    expect(file(renderFiles(sampleDeployment()), paths.meetConfigJs)).toMatchObject({ mode: 0o644, effect: null, secret: false });
  });

  it("rejects invalid input before rendering anything, naming the field", () => {
    expect(() => renderFiles({ ...sampleDeployment(), domain: "Not A Domain" })).toThrow(/domain: must be a lower-case fully qualified domain name/);
    expect(() => renderFiles("nope")).toThrow(/\(input\): must be a JSON object/);
  });
});

describe("Debian package markers", () => {
  // The exact tests jitsi-meet-prosody.postinst and jitsi-meet-tokens.postinst run before deciding to edit the
  // file; each must find (or, for the last, not find) its marker or the package rewrites the rendered config.
  const markers: [string, string[], boolean][] = [
    ["internal MUC", ["-q", `internal.${names.auth}`], true],
    ["focus client_proxy", ["-q", `Component "${names.focus}" "client_proxy"`], true],
    ["polls component", ["-q", `Component "${names.polls}"`], true],
    ["commented polls", ["-q", "--", '--"polls";'], true],
    ["unlimited_jids", ["-q", "--", "unlimited_jids"], true],
    ["component_admins_as_room_owners", ["-q", "--", "component_admins_as_room_owners = "], true],
    ["token authentication", ["-Eq", '^\\s*authentication\\s*=\\s*"token" -- do not delete me'], true],
    ["commented plugin_paths", ["-q", "--", '--plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }'], false],
  ];

  for (const [label, args, present] of markers) {
    it(`${present ? "has" : "lacks"} the ${label} marker`, async () => {
      const path = await written(file(renderFiles(sampleDeployment()), paths.prosodyHostConfig).content, "markers.cfg.lua");
      const found = await run("grep", [...args, path]).then(
        () => true,
        (error: { code?: number }) => (error.code === 1 ? false : Promise.reject(error)),
      );
      expect(found).toBe(present);
    });
  }

  it("has restrict_room_creation within two lines after the conference component", async () => {
    const path = await written(file(renderFiles(sampleDeployment()), paths.prosodyHostConfig).content, "muc.cfg.lua");
    const { stdout } = await run("grep", ["-A", "2", "--", `Component "${names.muc}" "muc"`, path]);
    expect(stdout).toContain("restrict_room_creation");
  });
});

describe("Prosody options as Prosody reads them", () => {
  async function options(d: Deployment, queries: [string, string][]) {
    const path = await written(file(renderFiles(d), paths.prosodyHostConfig).content, "options.cfg.lua");
    return readProsodyOptions(path, queries);
  }

  it("HS256: token auth with app id and secret, no empty tokens, room and sub checks on", async () => {
    const values = await options(sampleDeployment(), [
      [DOMAIN, "authentication"],
      [DOMAIN, "app_id"],
      [DOMAIN, "app_secret"],
      [DOMAIN, "asap_key_server"],
      [DOMAIN, "allow_empty_token"],
      [DOMAIN, "enable_domain_verification"],
      [DOMAIN, "asap_require_room_claim"],
      ["*", "muc_mapper_domain_base"],
      ["*", "component_admins_as_room_owners"],
    ]);
    expect(values).toEqual(["token", "jitsi-app", "s3cret-app-secret-0123456789abcdef", undefined, false, true, true, DOMAIN, true]);
  });

  it("guests: anonymous guest host, exempt from token checks, held by wait-for-host, never auto-owner", async () => {
    const values = await options(sampleDeployment(), [
      [names.guest, "authentication"],
      [names.muc, "token_verification_allowlist"],
      [names.muc, "wait_for_host_disable_auto_owners"],
      [names.muc, "modules_enabled"],
      [DOMAIN, "modules_enabled"],
      [names.muc, "admins"],
      [names.internalMuc, "muc_filter_whitelist"],
      [names.focus, "target_address"],
    ]);
    expect(values.slice(0, 3)).toEqual(["jitsi-anonymous", [names.guest], true]);
    expect(values[3]).toEqual(expect.arrayContaining(["token_verification", "token_affiliation", "muc_wait_for_host"]));
    expect(values[4]).toEqual(expect.arrayContaining(["persistent_lobby", "muc_lobby_rooms", "websocket", "bosh"]));
    expect(values.slice(5)).toEqual([[names.focusUser], [names.auth], names.focusUser]);
  });

  it("guests off: no guest host, nobody exempt from token checks, no wait-for-host", async () => {
    const values = await options(sampleDeployment({ guests: false }), [
      [names.guest, "authentication"],
      [names.muc, "token_verification_allowlist"],
      [names.muc, "modules_enabled"],
    ]);
    expect(values[0]).not.toBe("jitsi-anonymous");
    expect(values[1]).toEqual([]);
    expect(values[2]).toEqual(expect.arrayContaining(["token_verification", "token_affiliation"]));
    expect(values[2]).not.toContain("muc_wait_for_host");
    const content = file(renderFiles(sampleDeployment({ guests: false })), paths.prosodyHostConfig).content;
    expect(content).not.toContain(`VirtualHost "${names.guest}"`);
  });

  it("RS256: key server on nginx's loopback listener (no certificate to verify), no secret, one public key file per kid", async () => {
    const pem = rsaPublicKeyPem();
    const d = sampleDeployment({ auth: { algorithm: "RS256", appId: "jitsi-app", publicKeys: { "key-2": pem, "key-1": pem } } });
    const values = await options(d, [
      [DOMAIN, "asap_key_server"],
      [DOMAIN, "signature_algorithm"],
      [DOMAIN, "app_secret"],
    ]);
    expect(values).toEqual([`http://127.0.0.1:${String(PORTS.asapKeysLocal)}/asap-keys`, "RS256", undefined]);
    const files = renderFiles(d);
    const keyFiles = files.filter((f) => f.path.startsWith(`${paths.asapKeysDir}/`));
    expect(keyFiles.map((f) => f.path)).toEqual([`${paths.asapKeysDir}/${asapKeyFileName("key-1")}`, `${paths.asapKeysDir}/${asapKeyFileName("key-2")}`]);
    expect(keyFiles[0]).toMatchObject({ content: pem, mode: 0o644, secret: false });
    expect(file(files, paths.prosodyHostConfig).secret).toBe(false);
  });
});
