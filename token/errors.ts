/**
 * The error vocabulary of the token package. Defined in the shared module (token/shared/errors.ts) so the renderer
 * and the Pulumi program report problems in the same shape; re-exported here for the token module's files.
 */
export { FieldError, ProblemError, type Problem } from "./shared/errors.ts";
