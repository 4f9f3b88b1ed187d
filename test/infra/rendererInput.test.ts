/**
 * The settings → renderer input mapping shared by JitsiServer (resolved secrets and addresses) and
 * `render --stack` (placeholders): the Deployment it builds is valid for the renderer and carries each value once.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { rendererInput, type RendererRuntimeValues, type RendererSettings } from "../../infra/rendererInput.ts";
import { PLACEHOLDERS, deploymentFromStackConfig } from "../../infra/render/stackDeployment.ts";
import { DeploymentError, validateDeployment } from "../../templates/validate.ts";

const values: RendererRuntimeValues = {
  appSecret: "s".repeat(40),
  focusPassword: "focus-password-value",
  jvbPassword: "jvb-password-value",
  privateIp: "10.0.1.23",
  publicIp: "203.0.113.45",
};
const hs256: RendererSettings = {
  domain: "meet.example.com",
  token: { algorithm: "HS256", appId: "myapp" },
  guests: true,
  localVideobridge: false,
  turn: false,
  letsEncrypt: { email: "ops@example.com" },
};

describe("rendererInput", () => {
  it("maps HS256 settings and runtime values to a Deployment the renderer accepts", () => {
    const deployment = rendererInput(hs256, values);
    expect(deployment).toEqual({
      domain: "meet.example.com",
      auth: { algorithm: "HS256", appId: "myapp", appSecret: values.appSecret },
      guests: true,
      network: { privateIp: "10.0.1.23", publicIp: "203.0.113.45" },
      accounts: { focusPassword: "focus-password-value", jvbPassword: "jvb-password-value" },
      localVideobridge: false,
      letsEncryptEmail: "ops@example.com",
    });
    expect(validateDeployment(deployment)).toEqual(deployment);
  });

  it("maps RS256 to the public keys and ignores any app secret", () => {
    const publicKeys = { kid1: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" };
    const deployment = rendererInput({ ...hs256, token: { algorithm: "RS256", appId: "myapp", publicKeys } }, values);
    expect(deployment.auth).toEqual({ algorithm: "RS256", appId: "myapp", publicKeys });
    expect(JSON.stringify(deployment)).not.toContain(values.appSecret);
  });

  it("an HS256 deployment without a secret is refused by the renderer, naming the field", () => {
    expect(() => validateDeployment(rendererInput(hs256, { ...values, appSecret: undefined }))).toThrow(DeploymentError);
    expect(() => validateDeployment(rendererInput(hs256, { ...values, appSecret: undefined }))).toThrow(/appSecret/);
  });

  it("is what render --stack builds from a stack's configuration, with placeholders for deployment-time values", () => {
    const cli = readFileSync(new URL("./render/pulumi-config.dev.json", import.meta.url), "utf8");
    const fromStack = deploymentFromStackConfig(cli, "198.51.100.7");
    expect(fromStack).toEqual(
      rendererInput(
        { domain: "meet.example.com", token: { algorithm: "HS256", appId: "myapp" }, guests: false, localVideobridge: true, turn: true, letsEncrypt: { email: "ops@example.com" } },
        { ...PLACEHOLDERS, publicIp: "198.51.100.7", turn: { secret: PLACEHOLDERS.turnSecret, vpcCidr: PLACEHOLDERS.vpcCidr } },
      ),
    );
    expect(fromStack.auth).toMatchObject({ appSecret: PLACEHOLDERS.appSecret });
  });
});
