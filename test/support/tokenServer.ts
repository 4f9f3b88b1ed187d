/**
 * A token endpoint in its own process (node:http on 127.0.0.1), so a test can read its memory from /proc and a
 * benchmark's load generator does not share its core. Prints the port on stdout when ready; stops on SIGTERM.
 * Env: TOKEN_SERVER_MODE = "token" (default: toNodeHandler(createTokenHandler()) with its defaults) | "token-fast"
 * (the same with the opt-in overrideGlobalObjects: true) | "token-node" (createNodeTokenHandler, no Fetch objects) |
 * "bare" (node:http answering a fixed JSON body of the same size, the benchmark's ceiling) | "mint-only" (node:http
 * reading the body, JSON.parse, mintTokenWithClaims, a JSON answer: the least any token endpoint does, the floor) |
 * "required" (mint-only plus the body's time bound and the meeting link: what this endpoint's guarantees require);
 * TOKEN_SERVER_BODY_TIMEOUT_MS (bodyTimeoutMs of toNodeHandler / createNodeTokenHandler).
 */
import { createServer, type RequestListener } from "node:http";
import { createNodeTokenHandler, createTokenHandler, toNodeHandler, type TokenHandlerOptions } from "../../token/index.ts";
import { meetingUrl } from "../../token/meetingUrl.ts";
import { mintTokenSync, mintTokenWithClaims } from "../../token/mint.ts";

const SIGNING = { appId: "bench-app", domain: "meet.bench.test", secret: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz" };
const USER = { id: "u-1", name: "Bench User", email: "bench@example.test" };

const OPTIONS: TokenHandlerOptions = {
  ...SIGNING,
  baseUrl: "https://meet.bench.test",
  // A realistic authorize: read a session header and decide; no I/O so the figure measures this module.
  authorize: ({ headers }) => (headers.get("authorization") === "Bearer bench-session" ? { user: USER, moderator: true, features: { recording: true, livestreaming: false } } : null),
};

function bare(): RequestListener {
  // What the endpoint answers, fixed: same headers, same body size, no work.
  const token = mintTokenSync({ ...SIGNING, room: "weekly sync", user: USER, moderator: true });
  const body = JSON.stringify({ token, room: "weekly%20sync", expiresAt: new Date().toISOString(), url: `https://meet.bench.test/Weekly%20Sync#jwt=%22${token}%22` });
  return (req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(body);
    });
  };
}

/**
 * The floors of the work, for the bench. Always: read the body, JSON.parse, mint, a JSON answer (`mint-only`, the
 * least any token endpoint does). With `required`, also what no endpoint meeting this one's promises can skip: a
 * time bound on the body (a timer and the abort listeners, issue 11 defect 2) and the meeting link the bench's
 * baseUrl asks for. Never: header, room or tenant checks, authorize, size limits.
 */
function floor({ required }: { required: boolean }): RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    const timer = required ? setTimeout(() => req.destroy(), 10_000) : undefined;
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    if (required) {
      req.on("error", () => clearTimeout(timer));
      req.on("close", () => clearTimeout(timer));
    }
    req.on("end", () => {
      clearTimeout(timer);
      const { room } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { room: string };
      const { token, claims } = mintTokenWithClaims({ ...SIGNING, room, user: USER, moderator: true, features: { recording: true, livestreaming: false } });
      const answer: Record<string, string> = { token, room: claims.room, expiresAt: new Date(claims.exp * 1000).toISOString() };
      if (required) answer.url = meetingUrl({ base: OPTIONS.baseUrl ?? "", room, token });
      const body = JSON.stringify(answer);
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

const mode = process.env.TOKEN_SERVER_MODE ?? "token";
const bodyTimeoutMs = process.env.TOKEN_SERVER_BODY_TIMEOUT_MS === undefined ? undefined : Number(process.env.TOKEN_SERVER_BODY_TIMEOUT_MS);
const timeout = bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs };
const listener: RequestListener =
  mode === "bare"
    ? bare()
    : mode === "mint-only" || mode === "required"
      ? floor({ required: mode === "required" })
      : mode === "token-node"
      ? createNodeTokenHandler({ ...OPTIONS, ...timeout })
      : toNodeHandler(createTokenHandler(OPTIONS), { ...timeout, ...(mode === "token-fast" ? { overrideGlobalObjects: true } : {}) });
const server = createServer(listener);
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") process.exit(1);
  process.stdout.write(`${address.port}\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
