/**
 * Cross-origin access to the token endpoint (Fetch standard, "CORS protocol"). Off by default: the endpoint is
 * same-origin and sends no CORS header. With an explicit list of origins, a preflight (OPTIONS carrying
 * Access-Control-Request-Method) from a listed origin asking for POST is answered 204 with the allow headers, and
 * every answer to a listed origin carries Access-Control-Allow-Origin (that origin, never "*") with credentials
 * allowed, because authorize() usually reads the caller's session cookie. Unlisted origins get no CORS header, so
 * the browser keeps the answer from their scripts.
 */
import { TokenOptionsError } from "./options.ts";
import type { RequestHead } from "./requestBody.ts";

/** Request headers a cross-origin caller may send: the JSON type and a bearer session. */
const ALLOWED_REQUEST_HEADERS = ["authorization", "content-type"];
/** How long (seconds) a browser may reuse a successful preflight. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export interface CorsPolicy {
  /** CORS headers for an answer to this request: empty unless its Origin is listed. */
  headersFor(request: RequestHead): Record<string, string>;
  /** True when the request is a preflight (OPTIONS + Origin + Access-Control-Request-Method). */
  isPreflight(request: RequestHead): boolean;
  /** The answer to a preflight: 204 with the allow headers, or 403 naming what is not allowed. */
  preflight(request: RequestHead): { status: 204 | 403; headers: Record<string, string>; refused?: { field: string; message: string } };
}

/**
 * Validates the listed origins (each exactly `scheme://host[:port]`, as browsers send Origin) and builds the policy.
 * @throws TokenOptionsError naming `allowedOrigins` when an entry is not a serialized origin (a path, "*", a
 *   trailing slash).
 */
export function corsPolicy(allowedOrigins: readonly string[] | undefined): CorsPolicy | undefined {
  if (allowedOrigins === undefined) return undefined;
  if (!Array.isArray(allowedOrigins)) throw new TokenOptionsError([{ field: "allowedOrigins", message: "must be an array of origins such as https://app.example.com" }]);
  const listed = new Set<string>();
  for (const [i, origin] of allowedOrigins.entries()) {
    let serialized = "";
    try {
      if (typeof origin === "string") serialized = new URL(origin).origin;
    } catch {
      serialized = "";
    }
    if (serialized !== origin || !/^https?:\/\//.test(serialized)) {
      throw new TokenOptionsError([{ field: `allowedOrigins[${i}]`, message: `must be an http(s) origin exactly as a browser sends it (scheme://host[:port], no path, no "*"), got ${JSON.stringify(origin)}` }]);
    }
    listed.add(serialized);
  }
  const allowed = (request: RequestHead): string | undefined => {
    const origin = request.headers.get("origin");
    return origin !== null && listed.has(origin) ? origin : undefined;
  };
  const policy: CorsPolicy = {
    headersFor(request): Record<string, string> {
      const origin = allowed(request);
      // Vary on every answer: a cache must not give one origin's answer to another.
      if (origin === undefined) return { vary: "Origin" };
      return { vary: "Origin", "access-control-allow-origin": origin, "access-control-allow-credentials": "true" };
    },
    isPreflight(request) {
      return request.method === "OPTIONS" && request.headers.get("origin") !== null && request.headers.get("access-control-request-method") !== null;
    },
    preflight(request): ReturnType<CorsPolicy["preflight"]> {
      const origin = allowed(request);
      if (origin === undefined) return { status: 403, headers: { vary: "Origin" }, refused: { field: "origin", message: "this origin is not allowed to request tokens" } };
      if (request.headers.get("access-control-request-method") !== "POST") {
        return { status: 403, headers: { vary: "Origin" }, refused: { field: "access-control-request-method", message: "only POST is allowed" } };
      }
      const asked = (request.headers.get("access-control-request-headers") ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h.length > 0);
      const refused = asked.filter((h) => !ALLOWED_REQUEST_HEADERS.includes(h));
      if (refused.length > 0) {
        return { status: 403, headers: { vary: "Origin" }, refused: { field: "access-control-request-headers", message: `${refused.join(", ")} not allowed; send only ${ALLOWED_REQUEST_HEADERS.join(", ")}` } };
      }
      return {
        status: 204,
        headers: {
          vary: "Origin",
          "access-control-allow-origin": origin,
          "access-control-allow-credentials": "true",
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": ALLOWED_REQUEST_HEADERS.join(", "),
          "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
        },
      };
    },
  };
  return policy;
}
