/**
 * Names of the Pulumi stack outputs the deployment exports and the token module, CLI and smoke test read.
 * Defined in the shared module (not in infra/) because the token package must not import Pulumi; infra imports these names.
 */
export const STACK_OUTPUTS = {
  meetingUrl: "meetingUrl",
  publicIp: "publicIp",
  instanceId: "instanceId",
  xmppDomain: "xmppDomain",
  guestDomain: "guestDomain",
  appId: "appId",
  /** Secret output. */
  appSecret: "appSecret",
  /** "HS256" or "RS256". */
  tokenAlgorithm: "tokenAlgorithm",
  sshCommand: "sshCommand",
} as const;

export type StackOutputName = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];
