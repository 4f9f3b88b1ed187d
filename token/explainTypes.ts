/**
 * explainToken's vocabulary: what it needs to know about a deployment (the Prosody token options; names follow the Prosody
 * option each field mirrors) and the result type of a check.
 */
import type { PublicKeyInput } from "./keys.ts";

export interface HostProfile {
  /** `app_id`. */
  appId: string;
  /** The main VirtualHost (config.js `hosts.domain`). */
  xmppDomain: string;
  /** `app_secret` (HS*). */
  secret?: string;
  /** What `asap_key_server` / `cache_keys_url` would serve, by kid (RS*). */
  publicKeys?: Readonly<Record<string, PublicKeyInput>>;
  /** `signature_algorithm`; default RS256 when publicKeys is set, else HS256. */
  signatureAlgorithm?: string;
  /** `asap_accepted_issuers`; default [appId]. */
  acceptedIssuers?: readonly string[];
  /** `asap_accepted_audiences`; default ["*"]. */
  acceptedAudiences?: readonly string[];
  /** `asap_require_room_claim`; default true. */
  requireRoomClaim?: boolean;
  /** `enable_domain_verification`; default true. */
  enableDomainVerification?: boolean;
  /** `allow_empty_token`; default false. */
  allowEmptyToken?: boolean;
  /** `muc_mapper_domain_prefix`; default "conference". */
  mucDomainPrefix?: string;
  /** `muc_mapper_domain_base`; default xmppDomain. */
  mucDomainBase?: string;
}

export type CheckStage = "login" | "join" | "client";

export interface Finding {
  check: string;
  stage: CheckStage;
  ok: boolean;
  detail: string;
  /** What to change; "" when there is nothing to fix. */
  fix: string;
  /** The exact text the server sends with its rejection, when this check is the one that rejects. */
  serverText?: string;
}

export interface Verdict {
  ok: boolean;
  /** The failing check, when not ok. */
  check?: string;
  /** The server's rejection text (SASL failure text at login, presence error text at join). */
  serverText?: string;
}

/**
 * Findings in the order the server and the web client evaluate them, plus the verdicts: `login` (SASL ANONYMOUS
 * with the token) and `join` (MUC join of the given room; null when no room was given), and the room judged.
 */
export type Explanation = Finding[] & {
  login: Verdict;
  join: Verdict | null;
  /** The room the join was judged for: the MUC node the web client joins and its tenant (null: no room given). */
  room: { node: string; tenant?: string } | null;
};
