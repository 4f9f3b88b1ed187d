/**
 * Two linked network namespaces for relay tests: `server` (coturn and the TURN client) and `peer` (a UDP echo
 * peer), joined by a veth pair. Every non-loopback address lives inside these namespaces; the test machine's own
 * namespace gains no address and no route. Addresses are point-to-point (/32 with `peer`), so each namespace
 * reaches exactly the other's address over the link.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { stopChild } from "./stopChild.ts";

const run = promisify(execFile);

export interface LinkedNamespaces {
  readonly server: string;
  readonly peer: string;
  readonly serverAddress: string;
  readonly peerAddress: string;
  /** Starts coturn's turnutils_peer (a UDP echo) on peerAddress:port in the peer namespace. */
  startEchoPeer(port: number): Promise<{ stop(): Promise<void> }>;
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}

/** Creates the namespaces and the link; `remove()` deletes both (the veth pair goes with them). */
export async function createLinkedNamespaces(serverAddress: string, peerAddress: string): Promise<LinkedNamespaces> {
  const tag = randomBytes(3).toString("hex");
  const server = `turn-s-${tag}`;
  const peer = `turn-p-${tag}`;
  const remove = async () => {
    await ip("netns", "del", server).catch(() => undefined);
    await ip("netns", "del", peer).catch(() => undefined);
  };
  try {
    await ip("netns", "add", server);
    await ip("netns", "add", peer);
    // Created inside the server namespace, so neither end ever appears in the machine's own namespace.
    await ip("-n", server, "link", "add", `vs${tag}`, "type", "veth", "peer", "name", `vp${tag}`, "netns", peer);
    for (const [ns, dev, local, remote] of [
      [server, `vs${tag}`, serverAddress, peerAddress],
      [peer, `vp${tag}`, peerAddress, serverAddress],
    ] as const) {
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "addr", "add", local, "peer", remote, "dev", dev);
      await ip("-n", ns, "link", "set", dev, "up");
    }
  } catch (error) {
    await remove();
    throw new Error(`could not create network namespaces (needs root and iproute2): ${String(error)}`);
  }
  return {
    server,
    peer,
    serverAddress,
    peerAddress,
    startEchoPeer: async (port) => {
      const child = spawn("ip", ["netns", "exec", peer, "turnutils_peer", "-L", peerAddress, "-p", String(port)], {
        stdio: "ignore",
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (child.exitCode !== null) throw new Error(`turnutils_peer exited (${String(child.exitCode)})`);
      return { stop: () => stopChild(child) };
    },
    remove,
  };
}

/** Runs `node --import tsx <script> <args>` inside `netns`; resolves with its stdout. */
export async function runNodeInNamespace(netns: string, script: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, "--import", "tsx", script, ...args], {
    timeout: 60_000,
  });
  return stdout;
}
