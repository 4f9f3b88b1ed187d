/**
 * HTTP answers in the project's one error vocabulary (errors.ts): every non-2xx body of the token endpoint, its
 * Node adapter and its Express error middleware is `{ "error": { "code", "message", "problems": [{ "path",
 * "message" }] } }` with `cache-control: no-store`. Nothing here ever carries a stack or a secret.
 */
import { ProblemError } from "./errors.ts";

/** The stable `code` for each status the endpoint answers with. */
export const HTTP_PROBLEM_CODES = {
  400: "invalid-input",
  401: "unauthorized",
  403: "forbidden",
  405: "method-not-allowed",
  408: "body-timeout",
  413: "body-too-large",
  415: "unsupported-media-type",
  500: "internal-error",
} as const;

export type HttpProblemStatus = keyof typeof HTTP_PROBLEM_CODES;

/** A request the endpoint refuses: an HTTP status plus one problem naming the field (`path`) at fault. */
export class HttpProblem extends ProblemError {
  override readonly name: string = "HttpProblem";
  constructor(
    readonly status: HttpProblemStatus,
    readonly field: string,
    message: string,
  ) {
    super(HTTP_PROBLEM_CODES[status], [{ path: field, message }]);
  }
}

/** Headers every JSON answer carries: tokens and refusals must never be cached by a proxy or the browser. */
export const JSON_HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

/** The JSON text of a refusal: `{"error": {code, message, problems}}`. */
export function problemBody(problem: ProblemError): string {
  return JSON.stringify({ error: problem.toJSON() });
}

/** The size refusal worded the same wherever the limit is enforced (Web handler, Node adapter, Express). */
export function bodyTooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(413, "body", `body is larger than ${maxBytes} bytes`);
}
