/**
 * Jitsi meeting tokens: mint, verify, explain (with the server's own verdict), meeting links, a token endpoint
 * and config loading. Importable as `<package>/token`; nothing on this path imports Pulumi.
 */
export { mintToken } from "./mint.ts";
export { FieldError, ProblemError, type Problem } from "./errors.ts";
export {
  DEFAULT_AUDIENCE,
  DEFAULT_MAX_TTL_SECONDS,
  DEFAULT_NOT_BEFORE_SKEW_SECONDS,
  DEFAULT_TTL_SECONDS,
  seedOptionsToMintOptions,
  TokenOptionsError,
  type MintTokenOptions,
  type SeedTokenOptions,
  type TokenSigningConfig,
  type TokenUser,
} from "./options.ts";
export { ANY_ROOM, canonicalRoom, MAX_NODE_BYTES, normalizeRoomName, RoomNameError, type CanonicalRoom } from "./roomName.ts";
export { clientRoomOfLink, type ClientRoom } from "./clientRoom.ts";
export { JITSI_FEATURES, type FeatureFlags, type JitsiFeature } from "./features.ts";
export type { JitsiContextClaim, JitsiTokenClaims, JitsiTokenHeader, JitsiUserClaim, SigningAlgorithm } from "./claims.ts";
export { KeyError, MIN_HMAC_SECRET_BYTES, MIN_RSA_BITS, type PrivateKeyInput, type PublicKeyInput } from "./keys.ts";
export {
  TokenVerificationError,
  verifyToken,
  type VerificationCheck,
  type VerificationKey,
  type VerifiedToken,
  type VerifyExpectations,
} from "./verify.ts";
export { explainToken, type ExplainOptions } from "./explain.ts";
export type { CheckStage, Explanation, Finding, HostProfile, Verdict } from "./explainTypes.ts";
export { meetingUrl, MeetingUrlError, type MeetingUrlOptions, type TokenPlacement } from "./meetingUrl.ts";
export {
  createTokenHandler,
  type AuthorizeContext,
  type AuthorizeResult,
  type TokenDenial,
  type TokenGrant,
  type TokenHandler,
  type TokenHandlerLogEntry,
  type TokenHandlerOptions,
  type TokenResponseBody,
} from "./handler.ts";
export { tokenBodyErrors, type ExpressErrorMiddleware } from "./express.ts";
export { DEFAULT_BODY_TIMEOUT_MS, toNodeHandler, type NodeHandlerOptions, type WebHandler } from "./nodeAdapter.ts";
export { createNodeTokenHandler, type NodeTokenHandler, type NodeTokenHandlerOptions } from "./nodeTokenHandler.ts";
export { DEFAULT_MAX_BODY_BYTES } from "./requestBody.ts";
export { HttpProblem, HTTP_PROBLEM_CODES, type HttpProblemStatus } from "./httpProblem.ts";
export {
  execFileRunner,
  loadTokenConfig,
  TOKEN_ENV,
  TokenConfigError,
  type CommandResult,
  type CommandRunner,
  type LoadTokenConfigOptions,
  type TokenConfig,
} from "./config.ts";
export { STACK_OUTPUTS } from "./shared/stackOutputs.ts";
