/**
 * Time claims (`exp`, `nbf`, `iat`) are seconds since the epoch (RFC 7519 NumericDate); Prosody compares them with
 * `os.time()`. A value in milliseconds is the common mistake (`Date.now()` instead of `Date.now() / 1000`): an
 * `exp` in ms never expires on the server, an `nbf` in ms is never reached, so the token is always refused.
 */

/** Above this, a time claim is not seconds since the epoch (1e11 s is the year 5138; 1e11 ms is 1973). */
export const MAX_PLAUSIBLE_EPOCH_SECONDS = 1e11;

/** The fix, worded once for every place that reports the mistake. */
export const SECONDS_FIX = "Use seconds since the epoch: Math.floor(Date.now() / 1000) (not Date.now(), which is milliseconds)";

/** Whether a numeric time claim is evidently milliseconds (or finer) rather than seconds since the epoch. */
export function looksLikeMilliseconds(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) >= MAX_PLAUSIBLE_EPOCH_SECONDS;
}
