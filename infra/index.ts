/**
 * Pulumi entry point (`main` in Pulumi.yaml): read and validate the stack config, build one JitsiServer, export
 * the outputs the token module and smoke test read (names from token/stackOutputs.ts). Nothing else lives here.
 */
import * as pulumi from "@pulumi/pulumi";
import { STACK_OUTPUTS } from "../token/stackOutputs.ts";
import { readStackConfig } from "./config.ts";
import { JitsiServer } from "./jitsiServer.ts";

// Throws a RunError naming every bad key before any resource is registered.
const settings = readStackConfig();

const server = new JitsiServer(pulumi.getStack(), {
  domain: settings.domain,
  hostedZone: settings.hostedZone,
  instanceType: settings.instanceType,
  architecture: settings.architecture,
  diskSizeGb: settings.diskSizeGb,
  letsEncrypt: { email: settings.letsEncryptEmail, staging: settings.letsEncryptStaging },
  token:
    settings.tokenAlgorithm === "HS256"
      ? {
          algorithm: "HS256",
          appId: settings.appId,
          appSecret: settings.appSecret === undefined ? undefined : pulumi.secret(settings.appSecret),
        }
      : { algorithm: "RS256", appId: settings.appId, publicKeys: settings.tokenPublicKeys },
  guests: settings.guests,
  turn: settings.turn,
  adminCidrs: settings.adminCidrs,
  jitsiVersion: settings.jitsiVersion,
  vpcId: settings.vpcId,
  subnetId: settings.subnetId,
  sshPublicKey: settings.sshPublicKey,
  alarmEmail: settings.alarmEmail,
  videobridges: settings.videobridges,
  tags: { "pulumi:project": pulumi.getProject(), "pulumi:stack": pulumi.getStack() },
});

export const meetingUrl = server.meetingUrl;
export const publicIp = server.publicIp;
export const instanceId = server.instanceId;
export const xmppDomain = server.xmppDomain;
export const guestDomain = server.guestDomain;
export const appId = server.appId;
export const tokenAlgorithm = server.tokenAlgorithm;
export const appSecret = server.appSecret;
export const sshCommand = server.sshCommand;
/** Secret; save it with `pulumi stack output sshPrivateKey --show-secrets > <file>` to use sshCommand. */
export const sshPrivateKey = server.sshPrivateKey;

// Compile-time check that every shared output name (token/stackOutputs.ts) is exported above.
const shared: Record<keyof typeof STACK_OUTPUTS, unknown> = {
  meetingUrl, publicIp, instanceId, xmppDomain, guestDomain, appId, tokenAlgorithm, appSecret, sshCommand,
};
void shared;
