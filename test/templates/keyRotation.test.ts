/**
 * RS256 key rotation, the zero-downtime path docs/deploy.md describes: while two public keys are configured, a
 * token signed by either private key verifies against the rendered key directory, looked up the way Prosody's
 * token plugin does (`<asap_key_server>/<sha256hex(kid)>.pem`); once the old key is removed, only its tokens stop
 * working. Verification is the token module's verifyToken with the rendered file's content as the key (the opt-in
 * e2e suite does the same against real Prosody with Jitsi's plugins).
 */
import { generateKeyPairSync } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import type { RenderedFile } from "../../templates/deployment.ts";
import { renderAsapPublicKeys } from "../../templates/files/asapKeys.ts";
import { asapKeyFileName } from "../../templates/validate.ts";
import { mintToken } from "../../token/mint.ts";
import { verifyToken } from "../../token/verify.ts";
import { sampleDeployment } from "./sampleDeployment.ts";

const APP_ID = "rotation-app";
const DOMAIN = "meet.example.com";

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(), privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}
const oldKey = { kid: "2026-01", ...keyPair() };
const newKey = { kid: "2026-07", ...keyPair() };

const renderedKeys = (keys: readonly { kid: string; publicPem: string }[]) =>
  renderAsapPublicKeys(sampleDeployment({ auth: { algorithm: "RS256", appId: APP_ID, publicKeys: Object.fromEntries(keys.map((k) => [k.kid, k.publicPem])) } }));

const mint = (key: { kid: string; privatePem: string }) =>
  mintToken({ appId: APP_ID, domain: DOMAIN, privateKey: key.privatePem, kid: key.kid, room: "weekly-sync", user: { id: "u1", name: "Ada" }, moderator: true });

/** Prosody's lookup: the file named after the token's `kid`, then the signature against that key. */
async function verifyAgainst(files: readonly RenderedFile[], token: string) {
  const { kid } = decodeProtectedHeader(token);
  const file = files.find((f) => f.path.endsWith(`/${asapKeyFileName(String(kid))}`));
  if (file === undefined) throw new Error(`no key file for kid ${String(kid)} (Prosody's key server answers 404)`);
  return verifyToken(token, { publicKey: file.content }, { appId: APP_ID, sub: DOMAIN, room: "weekly-sync" });
}

describe("RS256 rotation with two overlapping keys", () => {
  it("renders one key file per kid, both in the directory Prosody's key server serves", () => {
    const files = renderedKeys([oldKey, newKey]);
    expect(files.map((f) => f.path.split("/").pop()).sort()).toEqual([asapKeyFileName(oldKey.kid), asapKeyFileName(newKey.kid)].sort());
    expect(new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/")))).size).toBe(1);
  });

  it("accepts tokens signed by either key while both are configured", async () => {
    const both = renderedKeys([oldKey, newKey]);
    const fromOld = await verifyAgainst(both, await mint(oldKey));
    const fromNew = await verifyAgainst(both, await mint(newKey));
    expect(fromOld.header.kid).toBe(oldKey.kid);
    expect(fromNew.header.kid).toBe(newKey.kid);
  });

  it("refuses a token whose kid names one key but is signed with the other", async () => {
    const both = renderedKeys([oldKey, newKey]);
    const crossed = await mint({ kid: newKey.kid, privatePem: oldKey.privatePem });
    await expect(verifyAgainst(both, crossed)).rejects.toMatchObject({ check: "signature" });
  });

  it("after the old key is removed, only tokens of the old key stop working", async () => {
    const onlyNew = renderedKeys([newKey]);
    await expect(verifyAgainst(onlyNew, await mint(oldKey))).rejects.toThrow(`no key file for kid ${oldKey.kid}`);
    await expect(verifyAgainst(onlyNew, await mint(newKey))).resolves.toMatchObject({ header: { kid: newKey.kid } });
  });
});
