/**
 * Meeting features a token can switch on or off (`context.features`). The list is the web client's own
 * (jitsi-meet react/features/base/jwt/constants.ts MEET_FEATURES): the client reports any other key as
 * "Invalid feature", and once `features` is present every feature not listed is off.
 */
export const JITSI_FEATURES = [
  "branding",
  "calendar",
  "create-polls",
  "file-upload",
  "flip",
  "inbound-call",
  "list-visitors",
  "live-translation",
  "livestreaming",
  "lobby",
  "moderation",
  "outbound-call",
  "recording",
  "room",
  "screen-sharing",
  "send-groupchat",
  "sip-inbound-call",
  "sip-outbound-call",
  "transcription",
] as const;

export type JitsiFeature = (typeof JITSI_FEATURES)[number];

export type FeatureFlags = Partial<Record<JitsiFeature, boolean>>;

/** Values Prosody and the client both accept; strings are what JaaS and most issuers send. */
export type FeatureClaimValue = "true" | "false";

const KNOWN = new Set<string>(JITSI_FEATURES);

export function isJitsiFeature(name: string): name is JitsiFeature {
  return KNOWN.has(name);
}

/** Feature claim values the server treats as "on" (util.lib.lua: `== true or == "true"`). */
export function isFeatureOn(value: unknown): boolean {
  return value === true || value === "true";
}

/** Values the web client's validateJwt accepts for a known feature. */
export function isValidFeatureValue(value: unknown): boolean {
  return value === true || value === false || value === "true" || value === "false";
}

export function featureClaims(flags: FeatureFlags): Partial<Record<JitsiFeature, FeatureClaimValue>> {
  const out: Partial<Record<JitsiFeature, FeatureClaimValue>> = {};
  for (const name of JITSI_FEATURES) {
    const value = flags[name];
    if (value !== undefined) out[name] = value ? "true" : "false";
  }
  return out;
}
