import { createServer, type Server } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago; tests run in parallel, so never hard-code one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Starts `server` listening on `host`:`port` (default 127.0.0.1 and a port the kernel picks, so nothing races for
 * it) and resolves with the port it got.
 */
export async function listenOn(server: Server, host = "127.0.0.1", port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`${host}: no port`);
  return address.port;
}
