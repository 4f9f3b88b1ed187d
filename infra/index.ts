/**
 * Pulumi entry point (`main` in Pulumi.yaml): read and validate the stack config, build one JitsiServer, export
 * the outputs the token module and smoke test read (names from jitsi-jwt-token/shared). Nothing else lives here.
 */
import * as pulumi from "@pulumi/pulumi";
import { STACK_OUTPUTS } from "jitsi-jwt-token/shared";
import { readStackConfig } from "./config.ts";
import { JitsiServer } from "./jitsiServer.ts";

// Throws a RunError naming every bad key before any resource is registered.
const stack = readStackConfig();

const server = new JitsiServer(pulumi.getStack(), {
  ...stack.server,
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

// Compile-time check that every shared output name (token/shared/stackOutputs.ts) is exported above.
const shared: Record<keyof typeof STACK_OUTPUTS, unknown> = {
  meetingUrl, publicIp, instanceId, xmppDomain, guestDomain, appId, tokenAlgorithm, appSecret, sshCommand,
};
void shared;
