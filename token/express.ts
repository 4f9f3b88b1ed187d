/**
 * Express support for the token endpoint. The route itself is `createNodeTokenHandler(options)` or
 * `toNodeHandler(handler)` (both take `req.body` when a global `express.json()` already parsed it). A body parser in front of the route that fails (bad JSON, too big,
 * an unsupported charset) never reaches the route: Express would answer with its HTML error page, stack frames
 * included outside production. `tokenBodyErrors()` is an Express error middleware that answers those failures as
 * the endpoint does, JSON 400/413/415 in the project's error vocabulary:
 *
 *   app.use(express.json());
 *   app.post("/api/jitsi/token", createNodeTokenHandler({ ...config, authorize }));
 *   app.use("/api/jitsi/token", tokenBodyErrors());
 *
 * The error `type`s are body-parser's (express.json/text/raw/urlencoded), as documented in its README ("Errors").
 * Express is not a dependency: only the shapes below are used.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequestEntry, type TokenHandlerLogEntry } from "./handler.ts";
import { HttpProblem, JSON_HEADERS, problemBody } from "./httpProblem.ts";

/** The fields of a body-parser error this middleware reads. */
interface BodyParserError {
  type?: unknown;
  limit?: unknown;
  charset?: unknown;
  encoding?: unknown;
}

/** Express's error-middleware signature (four parameters), without depending on Express's types. */
export type ExpressErrorMiddleware = (error: unknown, req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** body-parser error type → the endpoint's refusal; anything else goes on to the application's error handler. */
function problemFor(error: BodyParserError): HttpProblem | undefined {
  switch (error.type) {
    case "entity.parse.failed":
      return new HttpProblem(400, "body", "body must be a JSON object");
    case "entity.too.large":
    case "parameters.too.many":
      return new HttpProblem(413, "body", typeof error.limit === "number" ? `body is larger than ${error.limit} bytes` : "body is too large");
    case "charset.unsupported":
      return new HttpProblem(415, "content-type", "charset is not accepted; send UTF-8 (charset=utf-8 or none)");
    case "encoding.unsupported":
      return new HttpProblem(415, "content-encoding", "content-encoding is not accepted; send the body uncompressed");
    case "request.aborted":
    case "request.size.invalid":
      return new HttpProblem(400, "body", "body could not be read");
    default:
      return undefined;
  }
}

/**
 * An Express error middleware turning body-parser failures (express.json() in front of the token route) into the
 * endpoint's JSON answers: 400 invalid JSON, 413 too large, 415 unsupported charset or encoding. Other errors are
 * passed on with `next(error)`. Mount it after the route, on the route's path. `options.log` (the endpoint's own
 * `log`) receives a `bad-request` entry for each answer, so these refusals are logged like the endpoint's.
 */
export function tokenBodyErrors(options: { log?: (entry: TokenHandlerLogEntry) => void } = {}): ExpressErrorMiddleware {
  return (error, _req, res, next) => {
    const problem = typeof error === "object" && error !== null ? problemFor(error as BodyParserError) : undefined;
    if (problem === undefined || res.headersSent) {
      next(error);
      return;
    }
    options.log?.(badRequestEntry(problem));
    res.writeHead(problem.status, JSON_HEADERS);
    res.end(problemBody(problem));
  };
}
