/**
 * The token endpoint as the benchmark measures it: node:http + toNodeHandler + createTokenHandler on 127.0.0.1,
 * in its own process so the load generator does not share its core. Prints the port on stdout when ready.
 */
import { createServer } from "node:http";
import { createTokenHandler, toNodeHandler } from "../token/index.ts";
import { BENCH_SIGNING } from "./fixture.ts";

const handler = createTokenHandler({
  ...BENCH_SIGNING,
  baseUrl: "https://meet.bench.test",
  // A realistic authorize: read a session header and decide; no I/O so the figure measures this module.
  authorize: ({ request }) => (request.headers.get("authorization") === "Bearer bench-session" ? { user: { id: "u-1", name: "Bench User", email: "bench@example.test" }, moderator: true, features: { recording: true, livestreaming: false } } : null),
});

const server = createServer(toNodeHandler(handler));
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") process.exit(1);
  process.stdout.write(`${address.port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
