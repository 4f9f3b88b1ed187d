/** The shape of the tokens this module mints (and the parts of any token the checks read). */
import type { FeatureClaimValue, JitsiFeature } from "./features.ts";

export type SigningAlgorithm = "HS256" | "RS256";

/** JOSE header exactly as Prosody wants it: `typ` must be "JWT"; `kid` only with RS* (ASAP). */
export interface JitsiTokenHeader {
  alg: SigningAlgorithm;
  typ: "JWT";
  kid?: string;
}

/**
 * `context.user`: every identity value is a string (the server copies them into presence stanzas). The two bypass
 * flags are the exception: jitsi-contrib's lobby/security plugins compare them with boolean `true`.
 */
export interface JitsiUserClaim {
  id: string;
  name: string;
  email?: string;
  avatar?: string;
  moderator: "true" | "false";
  affiliation: "owner" | "member";
  lobby_bypass?: true;
  security_bypass?: true;
}

export interface JitsiContextClaim {
  user: JitsiUserClaim;
  group?: string;
  features?: Partial<Record<JitsiFeature, FeatureClaimValue>>;
}

export interface JitsiTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  room: string;
  iat: number;
  nbf: number;
  exp: number;
  context: JitsiContextClaim;
  /** Read by no upstream Prosody module; kept because the seed guide's integrations look for it. */
  moderator: boolean;
}
